/**
 * The operator docs and the deploy kit name only what exists: every `--flag` in docs/deploy.md,
 * docs/signals.md, docs/faq.md and examples/deploy/* is one that `bunicorn --help` or
 * `bunicorn ctl --help` lists, or one of the few flags of other commands they show (listed below
 * with their command, each of which must still appear); every `snake_case` name in backquotes in
 * those docs is a setting, or a directive the example nginx.conf uses.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SETTINGS } from "../../src/config/registry.ts";
import { CLI, ROOT } from "../support/harness.ts";
import { DEPLOY, example, run } from "./_kit.ts";

const DOCS = ["docs/deploy.md", "docs/signals.md", "docs/faq.md"];
const EXAMPLES = readdirSync(DEPLOY).map((f) => `examples/deploy/${f}`);

/** Flags of other commands that these files show, with the command. */
const OTHER_COMMANDS: Record<string, string> = {
  "--omit": "npm install --omit=dev",
  "--production": "bun install --production",
  "--now": "systemctl enable --now",
  "--kill-whom": "systemctl kill --kill-whom=main",
  "--rm": "docker run --rm",
  "--stop-timeout": "docker run --stop-timeout",
  "--sysctl": "docker run --sysctl",
  "--ulimit": "docker run --ulimit",
  "--init": "docker run --init",
  "--from": "COPY --from (Dockerfile)",
  "--interval": "HEALTHCHECK --interval (Dockerfile)",
  "--start-period": "HEALTHCHECK --start-period (Dockerfile)",
  "--retries": "HEALTHCHECK --retries (Dockerfile)",
  "--allowed-unsafe-sysctls": "kubelet --allowed-unsafe-sysctls",
  "--mount-proc": "unshare -pf --mount-proc",
};

function text(path: string): string {
  return readFileSync(join(ROOT, path), "utf8");
}

function flagsIn(s: string): Set<string> {
  return new Set(s.match(/(?<![\w-])--[a-z][a-z0-9_-]*[a-z0-9]/g) ?? []);
}

test("every --flag in the operator docs and the deploy kit is a bunicorn flag (or another command's, listed)", async () => {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", COLUMNS: "200" };
  const help = await run([process.execPath, CLI, "--help"], { cwd: ROOT, env });
  const ctlHelp = await run([process.execPath, CLI, "ctl", "--help"], { cwd: ROOT, env });
  expect([help.code, ctlHelp.code]).toEqual([0, 0]);
  const real = new Set([...flagsIn(help.out), ...flagsIn(ctlHelp.out)]);
  // The help lists what the docs lean on (a check that the extraction itself works).
  for (const f of ["--bind", "--workers", "--metrics-bind", "--drain-delay", "--max-memory", "--control-socket", "--json", "--no-reuse-port", "--check-config"]) expect(real).toContain(f);

  const unknown: string[] = [];
  const seenOther = new Set<string>();
  for (const file of [...DOCS, ...EXAMPLES]) {
    for (const flag of flagsIn(text(file))) {
      if (real.has(flag)) continue;
      if (flag in OTHER_COMMANDS) seenOther.add(flag);
      else unknown.push(`${file}: ${flag}`);
    }
  }
  expect(unknown).toEqual([]);
  // The list of other commands' flags holds only flags the files still show.
  expect([...seenOther].sort()).toEqual(Object.keys(OTHER_COMMANDS).sort());
});

/** Backquoted snake_case names that are neither settings nor directives nor metrics. */
const OTHER_NAMES = new Set(["node_modules"]);

test("every snake_case name in backquotes in the operator docs is a setting, a metric, or an nginx directive of the example", () => {
  const settings = new Set(SETTINGS.map((s) => s.name));
  const directives = new Set(example("nginx.conf").split("\n").map((l) => /^\s*([a-z_]+)\s/.exec(l)?.[1]).filter((d): d is string => d !== undefined));
  const metrics = new Set([...text("src/arbiter/metrics.ts").matchAll(/family\("(bunicorn_[a-z0-9_]+)"/g)].map((m) => m[1]!));
  expect(metrics.size).toBeGreaterThan(5);
  const unknown: string[] = [];
  let named = 0;
  for (const file of DOCS) {
    for (const m of text(file).matchAll(/`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)[`{]/g)) {
      const name = m[1]!;
      named++;
      const known = name.startsWith("bunicorn_") ? metrics.has(name) : settings.has(name) || directives.has(name) || OTHER_NAMES.has(name);
      if (!known) unknown.push(`${file}: ${name}`);
    }
  }
  expect(unknown).toEqual([]);
  expect(named).toBeGreaterThan(5);
});
