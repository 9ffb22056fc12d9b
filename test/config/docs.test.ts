import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { renderSettingsDoc } from "../../src/config/docs.ts";
import { SETTINGS } from "../../src/config/registry.ts";
import { SECTIONS, envName } from "../../src/config/setting.ts";

const DOC_PATH = resolve(import.meta.dir, "../../docs/settings.md");
const rendered = renderSettingsDoc();

describe("docs/settings.md", () => {
  test("is up to date with the registry", () => {
    const onDisk = readFileSync(DOC_PATH, "utf8");
    if (onDisk !== rendered) {
      const a = onDisk.split("\n");
      const b = rendered.split("\n");
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      throw new Error(
        `docs/settings.md is stale (first difference at line ${i + 1}: ${JSON.stringify(a[i])} vs ${JSON.stringify(b[i])}); run \`bun run docs\` to regenerate it`,
      );
    }
    expect(onDisk).toBe(rendered);
  });

  test("rendering is deterministic and ignores the environment", () => {
    const saved = { PORT: process.env.PORT, WEB_CONCURRENCY: process.env.WEB_CONCURRENCY };
    process.env.PORT = "1234";
    process.env.WEB_CONCURRENCY = "7";
    try {
      expect(renderSettingsDoc()).toBe(rendered);
    } finally {
      for (const [k, val] of Object.entries(saved)) {
        if (val === undefined) delete process.env[k];
        else process.env[k] = val;
      }
    }
  });

  test("has one ### `name` heading per setting, in registry order", () => {
    const headings = [...rendered.matchAll(/^### `([^`]+)`$/gm)].map((m) => m[1]);
    expect(headings).toEqual(SETTINGS.map((s) => s.name));
  });

  test("settings are grouped under ## Section headings", () => {
    const lines = rendered.split("\n");
    const sectionsSeen: string[] = [];
    let current: string | null = null;
    for (const line of lines) {
      const sec = /^## (.+)$/.exec(line);
      if (sec) {
        current = sec[1]!;
        sectionsSeen.push(current);
        continue;
      }
      const h = /^### `([^`]+)`$/.exec(line);
      if (h) {
        const setting = SETTINGS.find((s) => s.name === h[1]);
        expect(setting).toBeDefined();
        expect(current).toBe(setting!.section);
      }
    }
    const used = SECTIONS.filter((sec) => SETTINGS.some((s) => s.section === sec));
    expect(sectionsSeen).toEqual([...used]);
  });

  test("each setting lists its environment variable, flags and Bun note", () => {
    for (const s of SETTINGS) {
      const start = rendered.indexOf(`### \`${s.name}\`\n`);
      const end = rendered.indexOf("\n### ", start + 1);
      const block = rendered.slice(start, end < 0 ? undefined : end);
      expect(block).toContain(`**Environment:** \`${envName(s.name)}\``);
      for (const f of s.cli ?? []) expect(block).toContain(`\`${f}`);
      for (const f of s.cliNegative ?? []) expect(block).toContain(`\`${f}\``);
      if (s.bunNote) expect(block).toContain(`> **Bun:** ${s.bunNote}`);
      if (s.hookSignature) expect(block).toContain(`**Hook:** \`${s.hookSignature}\``);
    }
  });

  test("starts with the generated-file notice", () => {
    expect(rendered.split("\n")[0]).toContain("bun run docs");
    expect(rendered.endsWith("\n")).toBe(true);
    expect(rendered.endsWith("\n\n")).toBe(false);
  });
});
