/** @module Settings of the "Config File" section. */
import { defineSetting } from "../setting.ts";
import * as v from "../validators.ts";

export const configFileSettings = [
  defineSetting({
    name: "config",
    section: "Config File",
    cli: ["-c", "--config"],
    meta: "CONFIG",
    default: () => "./bunicorn.config.ts",
    validate: v.string,
    scope: "cli",
    support: "translated",
    bunNote:
      "The config file is a TypeScript, JavaScript or JSON module (`.ts`, `.mts`, `.js`, `.mjs`, `.json`), not a Python file. `file:PATH` is accepted; `python:MODULE` is not.",
    description: `The bunicorn config file.

A string of the form \`PATH\` or \`file:PATH\`. A \`.ts\`/\`.js\` file exports settings by name
(\`export const workers = 4\`) and/or as a default object (\`export default { workers: 4 }\`);
hooks are exported functions. A \`.json\` file holds one object of settings.

Only has an effect when given on the command line, in \`BUNICORN_CMD_ARGS\` or as
\`BUNICORN_CONFIG\`. By default, \`./bunicorn.config.ts\` (or \`.js\`, \`.mjs\`, \`.json\`) is read
from the directory bunicorn is started in, when it exists.`,
  }),
  defineSetting({
    name: "app",
    section: "Config File",
    default: () => null as string | null,
    validate: v.optionalString,
    scope: "both",
    support: "translated",
    bunNote: "Gunicorn's `wsgi_app`; the name `wsgi_app` is accepted in config files as an alias.",
    description: `The application, as \`PATH[:EXPORT]\` or \`MODULE:FACTORY(ARGS)\`.

Used when no \`APP_MODULE\` is given on the command line. The value it names is a fetch function
\`(req, server) => Response\` or an object with a \`fetch\` method (\`export default { fetch }\`,
a Hono or Elysia app).`,
  }),
] as const;
