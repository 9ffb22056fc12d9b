/**
 * A framework's launcher: starts bunicorn from code with `run()`. The app is named relative to
 * this file (`base: import.meta.url`), so the launcher works from any working directory; the
 * command-line arguments pass through (they override the settings given here).
 *
 *     cd / && bun /path/to/examples/launch.ts -b 127.0.0.1:8000
 */
import { run } from "bunicorn";

process.exit(
  await run({
    app: "./hono.ts:app",
    base: import.meta.url,
    settings: { workers: 2, proc_name: "launch-example" },
    argv: process.argv.slice(2),
  }),
);
