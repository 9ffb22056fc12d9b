import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { SETTINGS, SETTING_ALIASES, defaultSettings, getSetting, suggestSetting } from "../../src/config/registry.ts";
import { SECTIONS, envName } from "../../src/config/setting.ts";

/**
 * Gunicorn's settings reference: the text of its "Settings" page (docs/source/settings.rst,
 * https://docs.gunicorn.org/en/stable/settings.html, as of Gunicorn 23), copied unchanged into
 * the repository so the test runs on any machine. Gunicorn and its documentation are
 * MIT-licensed (Benoît Chesneau and the Gunicorn contributors).
 */
const SPEC = join(import.meta.dir, "../fixtures/spec/gunicorn-settings-reference.txt");

/** Setting names in the spec: a line followed by a blank line and then `Command line:` or `Default:`. */
function specSettingNames(): string[] {
  const lines = readFileSync(SPEC, "utf8").split("\n");
  const names: string[] = [];
  for (let i = 0; i + 2 < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || lines[i + 1]!.trim() !== "") continue;
    if (!/^(Command line:|Default:)/.test(lines[i + 2]!)) continue;
    if (/^(Command line:|Default:)/.test(line)) continue;
    names.push(line);
  }
  return names;
}

describe("registry vs. the Gunicorn settings reference", () => {
  const names = specSettingNames();

  test("the spec parser finds the settings (sanity)", () => {
    expect(names.length).toBeGreaterThan(80);
    for (const n of ["config", "wsgi_app", "bind", "workers", "on_starting", "ssl_context", "header_map"]) expect(names).toContain(n);
    for (const n of names) expect(n).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  test("every spec setting is in the registry", () => {
    const missing = names.filter((n) => getSetting(n) === undefined);
    expect(missing).toEqual([]);
  });

  test("the registry lists the reference's settings in the reference's order", () => {
    const specOrder = names.map((n) => getSetting(n)?.name);
    const registryOrder = SETTINGS.map((s) => s.name).filter((n) => specOrder.includes(n));
    expect(registryOrder).toEqual(specOrder as string[]);
  });

  test("wsgi_app maps to app through the alias", () => {
    expect(SETTING_ALIASES.wsgi_app).toBe("app");
    expect(getSetting("wsgi_app")?.name).toBe("app");
    expect(SETTINGS.some((s) => s.name === "wsgi_app")).toBe(false);
  });

  test("the spec's command-line flags are the registry's flags", () => {
    const text = readFileSync(SPEC, "utf8").split("\n");
    const mismatches: string[] = [];
    for (let i = 0; i + 2 < text.length; i++) {
      const name = text[i]!.trim();
      const cl = /^Command line: (.*)$/.exec(text[i + 2]!);
      if (!cl || text[i + 1]!.trim() !== "" || !/^[a-z][a-z0-9_]*$/.test(name)) continue;
      const setting = getSetting(name);
      if (!setting) continue;
      const flags = [...(setting.cli ?? []), ...(setting.cliNegative ?? [])];
      for (const part of cl[1]!.split(" or ")) {
        const flag = part.trim().split(" ")[0]!;
        if (!flags.includes(flag)) mismatches.push(`${name}: ${flag}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe("registry invariants", () => {
  test("setting names are unique snake_case", () => {
    const seen = new Set<string>();
    for (const s of SETTINGS) {
      expect(s.name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(seen.has(s.name)).toBe(false);
      seen.add(s.name);
    }
  });

  test("settings come out section by section, in the documented section order", () => {
    // Each section is one run of consecutive settings, and the runs follow Gunicorn's docs.
    const runs = SETTINGS.map((s) => s.section).filter((section, i, all) => i === 0 || all[i - 1] !== section);
    expect(runs).toEqual([
      "Config File",
      "Debugging",
      "Logging",
      "Process Naming",
      "SSL",
      "Security",
      "Server Hooks",
      "Server Mechanics",
      "Server Socket",
      "Worker Processes",
    ]);
    expect(runs).toEqual([...SECTIONS]);
    const names = SETTINGS.map((s) => s.name);
    // A concrete pair across sections: Server Socket's bind before Worker Processes' workers...
    expect(names.indexOf("bind")).toBeLessThan(names.indexOf("workers"));
    expect(names.indexOf("config")).toBeLessThan(names.indexOf("bind"));
    // ...and within a section the definition order (Security, as Gunicorn lists it, then bunicorn's limit_request_body).
    const security = SETTINGS.filter((s) => s.section === "Security").map((s) => s.name);
    expect(security).toEqual(["limit_request_line", "limit_request_fields", "limit_request_field_size", "limit_request_body"]);
  });

  test("every default passes its own validator", () => {
    const failures: string[] = [];
    for (const s of SETTINGS) {
      try {
        s.validate(s.default(), s.name);
      } catch (e) {
        failures.push(`${s.name}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  test("defaultSettings has every setting", () => {
    const d = defaultSettings() as unknown as Record<string, unknown>;
    expect(Object.keys(d).sort()).toEqual(SETTINGS.map((s) => s.name).sort());
  });

  test("every not-applicable / accepted / translated setting has a bunNote", () => {
    const missing = SETTINGS.filter((s) => s.support !== "supported" && !s.bunNote?.trim()).map((s) => s.name);
    expect(missing).toEqual([]);
  });

  test("not-applicable settings refuse a non-default value, naming the setting", () => {
    const na = SETTINGS.filter((s) => s.support === "not-applicable");
    expect(na.map((s) => s.name).sort()).toEqual(["paste", "pythonpath", "raw_paste_global_conf", "spew"].sort());
    const samples: Record<string, unknown> = { paste: "x.ini", pythonpath: "/x", raw_paste_global_conf: ["a=b"], spew: true };
    for (const s of na) {
      expect(() => s.validate(samples[s.name], s.name)).toThrow(`Setting ${s.name} is not applicable on Bun`);
    }
  });

  test("every setting has a description", () => {
    for (const s of SETTINGS) expect(s.description.trim().length).toBeGreaterThan(0);
  });

  test("CLI flags are unique across settings and well-formed", () => {
    const owner = new Map<string, string>();
    const dupes: string[] = [];
    for (const s of SETTINGS) {
      for (const flag of [...(s.cli ?? []), ...(s.cliNegative ?? [])]) {
        expect(flag).toMatch(/^(-[A-Za-z]|--[a-z][a-z0-9_-]*)$/);
        if (owner.has(flag)) dupes.push(`${flag}: ${owner.get(flag)} and ${s.name}`);
        owner.set(flag, s.name);
      }
    }
    expect(dupes).toEqual([]);
    // -h and -v are taken by --help and --version.
    expect(owner.has("-h")).toBe(false);
    expect(owner.has("-v")).toBe(false);
  });

  test("flag actions are consistent", () => {
    for (const s of SETTINGS) {
      if (s.cliNegative) expect(s.cli?.length ?? 0).toBeGreaterThan(0);
      if (s.action === "store_true" || s.action === "store_false") expect(s.meta).toBeUndefined();
      else if (s.cli) expect(s.meta).toBeString();
    }
  });

  test("a setting's environment variable is BUNICORN_<NAME>, and loadConfig reads it", async () => {
    expect(envName("max_requests")).toBe("BUNICORN_MAX_REQUESTS");
    expect(envName("worker_class")).toBe("BUNICORN_WORKER_CLASS");
    const loaded = await loadConfig({ argv: [], env: { BUNICORN_MAX_REQUESTS: "7" }, cwd: import.meta.dir });
    expect(loaded.settings.max_requests).toBe(7);
    expect(loaded.sources.max_requests).toBe("environment");
  });

  test("hooks have a signature and a function-or-null default", () => {
    const hooks = SETTINGS.filter((s) => s.section === "Server Hooks");
    expect(hooks.length).toBe(16);
    for (const s of hooks) {
      expect(s.hookSignature).toStartWith(`${s.name}(`);
      expect(s.default()).toBeNull();
    }
  });

  test("suggestSetting finds close names and not far ones", () => {
    expect(suggestSetting("wokers")).toBe("workers");
    expect(suggestSetting("WORKERS")).toBe("workers");
    expect(suggestSetting("timeuot")).toBe("timeout");
    expect(suggestSetting("zzzzzzzzzzzzzzzz")).toBeUndefined();
  });
});
