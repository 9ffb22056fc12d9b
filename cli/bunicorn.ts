#!/usr/bin/env bun
/**
 * @module
 * The `bunicorn` command: `bunicorn [OPTIONS] APP_MODULE`. `-h`/`--help` anywhere prints the
 * usage (citty, from the registry: `cli/help.ts`, loaded only then); everything else goes through
 * the strict registry-driven parser and `runLoaded()`, so a bad flag or value is one `Error:` line
 * and a non-zero exit.
 */
import { loadConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/config/setting.ts";
import { runLoaded } from "../src/run.ts";
import { VERSION } from "../src/version.ts";

async function main(argv: string[]): Promise<number> {
  try {
    const loaded = await loadConfig({ argv, env: process.env, cwd: process.cwd() });
    if (loaded.version) {
      process.stdout.write(`bunicorn (version ${VERSION})\n`);
      return 0;
    }
    return await runLoaded(loaded, { argv, env: process.env, cwd: process.cwd(), title: true });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`Error: ${e.message}\n`);
    return e.exitCode;
  }
}

const argv = process.argv.slice(2);
try {
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
