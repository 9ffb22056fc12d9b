#!/usr/bin/env bun
/** Writes docs/settings.md from the settings registry (`bun run docs`). */
import { renderSettingsDoc } from "../src/config/docs.ts";

const target = new URL("../docs/settings.md", import.meta.url).pathname;
await Bun.write(target, renderSettingsDoc());
console.log(`wrote ${target}`);
