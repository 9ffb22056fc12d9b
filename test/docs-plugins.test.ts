/**
 * docs/plugins.md and its examples cannot drift: every code block in it (TypeScript, JSON) is an
 * example file, marked `<!-- example: PATH -->` and equal to that file byte for byte, and every
 * such file is run by a test (a test file names it; examples/plugins/json-logger.test.ts is one).
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { ROOT } from "./support/harness.ts";

const DOC = readFileSync(join(ROOT, "docs/plugins.md"), "utf8");
const BLOCK = /(?:<!-- example: (\S+) -->\n)?```(\w*)\n([\s\S]*?)\n```/g;
const blocks = [...DOC.matchAll(BLOCK)].map((m) => ({ path: m[1] ?? null, lang: m[2]!, body: m[3]! }));

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

test("every code block in docs/plugins.md is an example file, and equal to it", () => {
  expect(blocks.length).toBeGreaterThanOrEqual(7);
  for (const b of blocks) {
    expect({ lang: b.lang, path: b.path }).toEqual({ lang: b.lang, path: expect.stringMatching(/^examples\//) });
    const file = join(ROOT, b.path!);
    expect(existsSync(file)).toBe(true);
    expect({ path: b.path, body: b.body }).toEqual({ path: b.path, body: readFileSync(file, "utf8").trimEnd() });
  }
});

test("every example in docs/plugins.md is run by a test", () => {
  const tests = [...testFiles(join(ROOT, "test")), ...testFiles(join(ROOT, "examples"))].map((f) => ({ f, text: readFileSync(f, "utf8") }));
  for (const b of blocks) {
    const file = join(ROOT, b.path!);
    if (file.endsWith(".test.ts")) continue;
    // A file of a plugin package is run through its package (named by its folder).
    const packageDir = existsSync(join(dirname(file), "package.json")) ? basename(dirname(file)) : null;
    const needle = packageDir ?? basename(file);
    const runners = tests.filter((t) => t.text.includes(needle) && !t.f.endsWith("docs-plugins.test.ts")).map((t) => relative(ROOT, t.f));
    expect({ example: b.path, runners: runners.length > 0 }).toEqual({ example: b.path, runners: true });
  }
});
