/** @module Settings of the "Process Naming" section. */
import { defineSetting } from "../setting.ts";
import * as v from "../validators.ts";

export const processNamingSettings = [
  defineSetting({
    name: "proc_name",
    section: "Process Naming",
    cli: ["-n", "--name"],
    meta: "STRING",
    default: () => null as string | null,
    validate: v.optionalString,
    scope: "both",
    support: "translated",
    bunNote:
      "`process.title` does not change `ps` on Bun: workers get their name at spawn (`argv0`) and in `/proc/self/comm`; the arbiter's name is set when it is started by the `bunicorn` launcher.",
    description: `A base to use for process naming.

This affects things like \`ps\` and \`top\`. If you're going to be running more than one instance
of bunicorn you'll probably want to set a name to tell them apart. If not set, the
\`default_proc_name\` setting will be used.`,
  }),
  defineSetting({
    name: "default_proc_name",
    section: "Process Naming",
    default: () => "bunicorn",
    validate: v.string,
    scope: "both",
    support: "supported",
    description: "Internal setting that is adjusted for each type of application (set to the app module).",
  }),
] as const;
