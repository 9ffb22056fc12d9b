#!/usr/bin/env bun
/**
 * @module
 * The `bunicorn` command: `bunicorn [OPTIONS] APP_MODULE`. `-h`/`--help` anywhere prints the
 * usage (from the registry: `cli/help.ts`, loaded only then); everything else goes through
 * the strict registry-driven parser and `runLoaded()`, so a bad flag or value is one `Error:` line
 * and a non-zero exit. `bunicorn ctl ...` (first argument `ctl`) is the control socket's client
 * (`cli/ctl.ts`).
 *
 * The command re-executes itself once to be titled `bunicorn: master [NAME]`; the new image finds
 * the config the first one loaded in the file `BUNICORN_CONFIG_HANDOFF` names and starts the arbiter without
 * loading the registry or the parsers (modules are imported on demand for that reason).
 */
import { HANDOFF_ENV, TITLED_ENV } from "../src/env-names.ts";
import { ConfigError, reportFatal } from "../src/errors.ts";
import { VERSION } from "../src/version.ts";

async function main(argv: string[]): Promise<number> {
  const handoffPath = process.env[HANDOFF_ENV];
  // Not passed on by bunicorn's own spawns (workers and a USR2 child copy this environment).
  delete process.env[HANDOFF_ENV];
  const ctx = { argv, env: process.env, cwd: process.cwd() };
  // The file is read and deleted at once; without it (e.g. this is a program a hook started with
  // the arbiter's environment), the config is loaded as usual.
  const handoff = handoffPath !== undefined && process.env[TITLED_ENV] ? (await import("../src/config/handoff.ts")).takeHandoff(handoffPath) : null;
  if (handoff !== null) {
    const { decodeHandoff } = await import("../src/config/handoff.ts");
    const { startArbiter } = await import("../src/arbiter/start.ts");
    let loaded;
    try {
      loaded = await decodeHandoff(handoff);
    } catch (e) {
      return reportFatal(new ConfigError(e instanceof Error ? e.message : String(e)));
    }
    return startArbiter(loaded, ctx);
  }
  const { loadConfig } = await import("../src/config/load.ts");
  const { runLoaded } = await import("../src/run.ts");
  try {
    const loaded = await loadConfig(ctx);
    if (loaded.version) {
      process.stdout.write(`bunicorn (version ${VERSION})\n`);
      return 0;
    }
    return await runLoaded(loaded, { ...ctx, title: true });
  } catch (e) {
    return reportFatal(e);
  }
}

const argv = process.argv.slice(2);
try {
  // `bunicorn ctl ...` (the control socket's client) only when `ctl` is the very first argument;
  // an app module called ctl is still served as `bunicorn ./ctl.ts`, `bunicorn ctl:app` or with any option first.
  if (argv[0] === "ctl") process.exit(await (await import("./ctl.ts")).ctlMain(argv.slice(1)));
  if (argv.some((a) => a === "--help" || a === "-h")) {
    await (await import("./help.ts")).showHelp();
    process.exit(0);
  }
  process.exit(await main(argv));
} catch (error) {
  // As citty's runMain did: an unexpected error is printed in full, exit 1.
  console.error(error, "\n");
  process.exit(1);
}
