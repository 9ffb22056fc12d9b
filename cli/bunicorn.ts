#!/usr/bin/env bun
/**
 * @module
 * The `bunicorn` command: `bunicorn [OPTIONS] APP_MODULE`. citty renders `--help` and
 * `--version` from the registry; everything else goes through the strict registry-driven parser
 * and `runLoaded()`, so a bad flag or value is one `Error:` line and a non-zero exit.
 */
import { defineCommand, runMain } from "citty";
import { loadConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/config/setting.ts";
import { runLoaded } from "../src/run.ts";
import { VERSION } from "../src/version.ts";
import { registryArgs } from "./args.ts";

const command = defineCommand({
  meta: {
    name: "bunicorn",
    version: VERSION,
    description: "The Green Unicorn for Bun: a pre-fork HTTP server for fetch apps (bunicorn [OPTIONS] APP_MODULE)",
  },
  // Declaring --version here stops citty from answering it with the bare version number; the
  // registry parser sees it and `run` prints `bunicorn (version X)`.
  args: { ...registryArgs(), version: { type: "boolean", alias: ["v"], description: "Print the version and exit." } },
  async run({ rawArgs }) {
    const argv = [...rawArgs];
    let code: number;
    try {
      const loaded = await loadConfig({ argv, env: process.env, cwd: process.cwd() });
      if (loaded.version) {
        process.stdout.write(`bunicorn (version ${VERSION})\n`);
        process.exit(0);
      }
      code = await runLoaded(loaded, { argv, env: process.env, cwd: process.cwd(), title: true });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      process.stderr.write(`Error: ${e.message}\n`);
      code = e.exitCode;
    }
    process.exit(code);
  },
});

await runMain(command);
