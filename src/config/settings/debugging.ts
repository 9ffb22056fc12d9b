/** @module Settings of the "Debugging" section. */
import { defineSetting } from "../setting.ts";
import * as v from "../validators.ts";

export const debuggingSettings = [
  defineSetting({
    name: "reload",
    section: "Debugging",
    cli: ["--reload"],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "arbiter",
    support: "supported",
    description: `Restart workers when code changes.

This setting is intended for development. It will cause workers to be restarted whenever
application code changes. The reloader is incompatible with \`preload_app\`.`,
    bunNote:
      "Changes are watched with a recursive `fs.watch` (inotify on Linux) on the app's directory and `reload_extra_files`; `poll` uses `fs.watchFile`.",
  }),
  defineSetting({
    name: "reload_engine",
    section: "Debugging",
    cli: ["--reload-engine"],
    meta: "STRING",
    default: () => "auto" as "auto" | "poll" | "inotify",
    validate: v.oneOf(["auto", "poll", "inotify"] as const),
    scope: "arbiter",
    support: "translated",
    bunNote: "`inotify` needs no extra package: Bun's `fs.watch` uses inotify on Linux. `auto` means `inotify`.",
    description: `The implementation that should be used to power reload.

Valid engines are \`auto\`, \`poll\` and \`inotify\`.`,
  }),
  defineSetting({
    name: "reload_extra_files",
    section: "Debugging",
    cli: ["--reload-extra-file"],
    meta: "FILES",
    action: "append",
    default: () => [] as string[],
    validate: v.stringList,
    scope: "arbiter",
    support: "supported",
    description: `Extends the reload option to also watch and reload on additional files (e.g.,
templates, configurations, specifications). The flag may be given several times.

An entry with \`*\`, \`?\` or \`[\` is a glob pattern (\`templates/**/*.html\`; \`**\` recurses,
\`*\` does not match dotfiles), relative to \`chdir\`, expanded again on every check, so a file
created after start is watched too. A pattern that matches nothing at start is a warning.`,
    bunNote:
      "Glob patterns are polled every 0.5 s whatever `reload_engine` says (inotify cannot watch a file that does not exist yet); a matched file's first sighting is not a change, a new mtime or size afterwards is.",
  }),
  defineSetting({
    name: "spew",
    section: "Debugging",
    cli: ["--spew"],
    action: "store_true",
    default: () => false,
    validate: v.notApplicable(v.bool, (x) => x === false, "Bun has no per-line trace hook; use `bun --inspect` or `--cpu-prof` instead"),
    scope: "both",
    support: "not-applicable",
    bunNote: "Python's `sys.settrace` has no Bun equivalent; use `bun --inspect` or `bun --cpu-prof`.",
    description: "Install a trace function that spews every line executed by the server.",
  }),
  defineSetting({
    name: "check_config",
    section: "Debugging",
    cli: ["--check-config"],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "cli",
    support: "supported",
    description: `Check the configuration and exit. The exit status is 0 if the configuration is
correct (the app loads), and 1 if the configuration is incorrect.

Besides the app, it checks what a start would refuse: the worker class and the logger class
load, every log file (\`errorlog\`, \`accesslog\`, \`logconfig\` targets) can be written (checked,
not created), and the TLS and \`http_protocols\` settings can be served. Each failure is one
\`Error:\` line naming the setting, the same line a start would end with.`,
  }),
  defineSetting({
    name: "print_config",
    section: "Debugging",
    cli: ["--print-config"],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "cli",
    support: "supported",
    description: "Print the configuration settings as fully resolved and exit.",
  }),
] as const;
