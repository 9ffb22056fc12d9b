/**
 * @module
 * `bunicorn --help`: citty renders the usage from the registry's flags. Loaded only when help is
 * asked for (citty and the `node:util` it pulls in cost the arbiter ~3 MB RSS otherwise).
 */
import { defineCommand, showUsage } from "citty";
import { VERSION } from "../src/version.ts";
import { registryArgs } from "./args.ts";

export async function showHelp(): Promise<void> {
  const command = defineCommand({
    meta: {
      name: "bunicorn",
      version: VERSION,
      description: "The Green Unicorn for Bun: a pre-fork HTTP server for fetch apps (bunicorn [OPTIONS] APP_MODULE)",
    },
    args: { ...registryArgs(), version: { type: "boolean", alias: ["v"], description: "Print the version and exit." } },
  });
  await showUsage(command);
}
