import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "../../src/config/cli-args.ts";
import { loadConfig, type LoadConfigOptions } from "../../src/config/load.ts";
import { ConfigError } from "../../src/config/setting.ts";

const FIXTURES = resolve(import.meta.dir, "../fixtures/config");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir holding `files` (relative path -> contents). */
function tmp(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-load-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** loadConfig with an empty environment and an empty temp dir unless given. */
function load(opts: LoadConfigOptions = {}) {
  return loadConfig({ argv: [], env: {}, cwd: opts.cwd ?? tmp(), ...opts });
}

/** The ConfigError `p` rejects with. */
async function configError(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).not.toContain("\n");
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError, but loadConfig succeeded");
}

describe("precedence", () => {
  test("workers: each source overrides the one below", async () => {
    const cwd = tmp({ "bunicorn.config.ts": "export const workers = 3;\n" });
    const empty = tmp();

    let c = await load({ cwd: empty });
    expect(c.settings.workers).toBe(1);
    expect(c.sources.workers).toBe("default");

    c = await load({ cwd: empty, env: { WEB_CONCURRENCY: "2" } });
    expect(c.settings.workers).toBe(2);
    expect(c.sources.workers).toBe("default");

    const env: Record<string, string> = { WEB_CONCURRENCY: "2" };
    c = await load({ cwd, env });
    expect(c.settings.workers).toBe(3);
    expect(c.sources.workers).toBe("config file");

    c = await load({ cwd, env, overrides: { workers: 4 } });
    expect(c.settings.workers).toBe(4);
    expect(c.sources.workers).toBe("code");

    c = await load({ cwd, env: { ...env, BUNICORN_CMD_ARGS: "-w 5" }, overrides: { workers: 4 } });
    expect(c.settings.workers).toBe(5);
    expect(c.sources.workers).toBe("BUNICORN_CMD_ARGS");

    c = await load({ cwd, env: { ...env, BUNICORN_CMD_ARGS: "-w 5", BUNICORN_WORKERS: "6" }, overrides: { workers: 4 } });
    expect(c.settings.workers).toBe(6);
    expect(c.sources.workers).toBe("environment");

    c = await load({ cwd, env: { ...env, BUNICORN_CMD_ARGS: "-w 5", BUNICORN_WORKERS: "6" }, overrides: { workers: 4 }, argv: ["-w", "7"] });
    expect(c.settings.workers).toBe(7);
    expect(c.sources.workers).toBe("command line");
  });

  test("an invalid WEB_CONCURRENCY is an error naming it", async () => {
    const e = await configError(load({ env: { WEB_CONCURRENCY: "many" } }));
    expect(e.message).toContain("WEB_CONCURRENCY");
  });

  test("the last of two flags for the same setting wins", async () => {
    const c = await load({ argv: ["-w", "2", "--workers=9"] });
    expect(c.settings.workers).toBe(9);
  });

  test("sources stay 'default' for untouched settings", async () => {
    const c = await load({ argv: ["-t", "10"] });
    expect(c.sources.timeout).toBe("command line");
    expect(c.sources.graceful_timeout).toBe("default");
    expect(c.settings.graceful_timeout).toBe(30);
    expect(c.configFile).toBeNull();
  });
});

describe("config files", () => {
  test("bunicorn.config.ts is discovered in cwd and its named exports are settings", async () => {
    const cwd = tmp({ "bunicorn.config.ts": 'export const workers = 4;\nexport const bind = ["127.0.0.1:9001"];\nexport const loglevel = "DEBUG";\n' });
    const c = await load({ cwd });
    expect(c.configFile).toBe(join(cwd, "bunicorn.config.ts"));
    expect(c.settings.config).toBe(join(cwd, "bunicorn.config.ts"));
    expect(c.settings.workers).toBe(4);
    expect(c.settings.bind).toEqual(["127.0.0.1:9001"]);
    expect(c.settings.loglevel).toBe("debug");
  });

  test("bunicorn.config.js with a default export object is discovered", async () => {
    const cwd = tmp({ "bunicorn.config.js": "export default { workers: 2, timeout: 5 };\nexport const keepalive = 7;\n" });
    const c = await load({ cwd });
    expect(c.configFile).toBe(join(cwd, "bunicorn.config.js"));
    expect([c.settings.workers, c.settings.timeout, c.settings.keepalive]).toEqual([2, 5, 7]);
  });

  test("bunicorn.config.json is discovered; .ts wins over .json", async () => {
    const json = tmp({ "bunicorn.config.json": '{"workers": 6, "raw_env": ["A=1"]}' });
    const c = await load({ cwd: json });
    expect(c.settings.workers).toBe(6);
    expect(c.settings.raw_env).toEqual(["A=1"]);

    const both = tmp({ "bunicorn.config.json": '{"workers": 6}', "bunicorn.config.ts": "export const workers = 8;\n" });
    expect((await load({ cwd: both })).settings.workers).toBe(8);
  });

  test("-c names the file (relative to cwd) and the default file is then not read", async () => {
    const cwd = tmp({ "bunicorn.config.ts": "export const workers = 3;\n", "conf/other.ts": "export const timeout = 11;\n" });
    const c = await load({ cwd, argv: ["-c", "conf/other.ts"] });
    expect(c.configFile).toBe(join(cwd, "conf/other.ts"));
    expect(c.settings.timeout).toBe(11);
    expect(c.settings.workers).toBe(1);
  });

  test("--config with the file: prefix", async () => {
    const cwd = tmp({ "x.json": '{"workers": 5}' });
    const c = await load({ cwd, argv: ["--config", "file:x.json"] });
    expect(c.configFile).toBe(join(cwd, "x.json"));
    expect(c.settings.workers).toBe(5);
  });

  test("-c and --config in BUNICORN_CMD_ARGS", async () => {
    const cwd = tmp({ "a.ts": "export const workers = 2;\n", "b.ts": "export const workers = 3;\n" });
    expect((await load({ cwd, env: { BUNICORN_CMD_ARGS: "-c a.ts" } })).settings.workers).toBe(2);
    expect((await load({ cwd, env: { BUNICORN_CMD_ARGS: "--config=b.ts --timeout 9" } })).settings.workers).toBe(3);
    // The command line's -c wins over BUNICORN_CMD_ARGS's.
    expect((await load({ cwd, env: { BUNICORN_CMD_ARGS: "-c a.ts" }, argv: ["-c", "b.ts"] })).settings.workers).toBe(3);
  });

  test("BUNICORN_CONFIG names the file, below BUNICORN_CMD_ARGS", async () => {
    const cwd = tmp({ "a.ts": "export const workers = 2;\n", "b.ts": "export const workers = 3;\n" });
    expect((await load({ cwd, env: { BUNICORN_CONFIG: "file:a.ts" } })).settings.workers).toBe(2);
    expect((await load({ cwd, env: { BUNICORN_CONFIG: "a.ts", BUNICORN_CMD_ARGS: "-c b.ts" } })).settings.workers).toBe(3);
  });

  test("hooks exported from a config file are functions in settings", async () => {
    const cwd = tmp({
      "bunicorn.config.ts": "export function on_starting(server: unknown) {}\nexport const post_fork = (server: unknown, worker: unknown) => {};\nexport default { when_ready(server: unknown) {} };\n",
    });
    const c = await load({ cwd });
    expect(c.settings.on_starting).toBeFunction();
    expect((c.settings.on_starting as Function).name).toBe("on_starting");
    expect(c.settings.post_fork).toBeFunction();
    expect(c.settings.when_ready).toBeFunction();
    expect(c.settings.on_exit).toBeNull();
  });

  test("a hook with too many parameters in a config file is refused", async () => {
    const cwd = tmp({ "bunicorn.config.ts": "export function on_starting(a: unknown, b: unknown) {}\n" });
    const e = await configError(load({ cwd }));
    expect(e.message).toContain("on_starting");
    expect(e.message).toContain(join(cwd, "bunicorn.config.ts"));
  });

  test("wsgi_app in a config file is the app alias", async () => {
    const cwd = tmp({ "bunicorn.config.ts": 'export const wsgi_app = "server.ts:app";\n' });
    const c = await load({ cwd });
    expect(c.settings.app).toBe("server.ts:app");
    expect(c.app).toBe("server.ts:app");
    expect(c.sources.app).toBe("config file");
    // APP_MODULE on the command line wins.
    expect((await load({ cwd, argv: ["other.ts"] })).app).toBe("other.ts");
  });
});

describe("hook references", () => {
  test("BUNICORN_ON_STARTING=PATH#export is imported", async () => {
    const c = await load({ env: { BUNICORN_ON_STARTING: `${FIXTURES}/hooks.ts#onStarting` } });
    expect(c.settings.on_starting).toBeFunction();
    expect((c.settings.on_starting as Function).name).toBe("onStarting");
    expect(c.sources.on_starting).toBe("environment");
  });

  test("a relative reference resolves against the config file's directory", async () => {
    const cwd = tmp({ "conf/bunicorn.json": "{}", "conf/h.ts": "export function hi(server: unknown) {}\n" });
    const c = await load({ cwd, argv: ["-c", "conf/bunicorn.json"], env: { BUNICORN_ON_EXIT: "./h.ts#hi" } });
    expect((c.settings.on_exit as Function).name).toBe("hi");
  });

  test("bad references are errors naming the hook", async () => {
    let e = await configError(load({ env: { BUNICORN_ON_STARTING: `${FIXTURES}/hooks.ts#notAFunction` } }));
    expect(e.message).toContain("on_starting");
    expect(e.message).toContain("notAFunction");
    e = await configError(load({ env: { BUNICORN_ON_STARTING: `${FIXTURES}/missing-hooks.ts#x` } }));
    expect(e.message).toContain("on_starting");
    expect(e.message).toContain("missing-hooks.ts");
    e = await configError(load({ env: { BUNICORN_ON_STARTING: `${FIXTURES}/hooks.ts#tooManyArgs` } }));
    expect(e.message).toContain("on_starting");
    e = await configError(load({ env: { BUNICORN_ON_STARTING: "not a reference" } }));
    expect(e.message).toContain("on_starting");
  });
});

describe("environment-derived defaults", () => {
  test("PORT makes the default bind 0.0.0.0:$PORT; -b replaces it", async () => {
    expect((await load()).settings.bind).toEqual(["127.0.0.1:8000"]);
    expect((await load({ env: { PORT: "9123" } })).settings.bind).toEqual(["0.0.0.0:9123"]);
    expect((await load({ env: { PORT: "9123" }, argv: ["-b", "unix:/tmp/x.sock"] })).settings.bind).toEqual(["unix:/tmp/x.sock"]);
  });

  test("FORWARDED_ALLOW_IPS sets the forwarded_allow_ips default", async () => {
    expect((await load()).settings.forwarded_allow_ips).toEqual(["127.0.0.1", "::1"]);
    expect((await load({ env: { FORWARDED_ALLOW_IPS: "10.0.0.0/8, 192.168.0.1" } })).settings.forwarded_allow_ips).toEqual(["10.0.0.0/8", "192.168.0.1"]);
    expect((await load({ env: { FORWARDED_ALLOW_IPS: "*" }, argv: ["--forwarded-allow-ips", "1.2.3.4"] })).settings.forwarded_allow_ips).toEqual(["1.2.3.4"]);
    const e = await configError(load({ env: { FORWARDED_ALLOW_IPS: "not-an-ip" } }));
    expect(e.message).toContain("FORWARDED_ALLOW_IPS");
  });

  test("SENDFILE sets the sendfile default; --no-sendfile disables it", async () => {
    expect((await load()).settings.sendfile).toBeNull();
    expect((await load({ env: { SENDFILE: "0" } })).settings.sendfile).toBe(false);
    expect((await load({ env: { SENDFILE: "true" } })).settings.sendfile).toBe(true);
    expect((await load({ env: { SENDFILE: "1" }, argv: ["--no-sendfile"] })).settings.sendfile).toBe(false);
    expect((await load({ argv: ["--no-sendfile"] })).sources.sendfile).toBe("command line");
  });
});

describe("command-line forms", () => {
  test("-b repeated accumulates; the command line's bind replaces the config file's", async () => {
    expect((await load({ argv: ["-b", "127.0.0.1:1", "--bind", "[::1]:2", "--bind=unix:/tmp/s"] })).settings.bind).toEqual(["127.0.0.1:1", "[::1]:2", "unix:/tmp/s"]);
    const cwd = tmp({ "bunicorn.config.ts": 'export const bind = ["0.0.0.0:80", "0.0.0.0:81"];\n' });
    expect((await load({ cwd })).settings.bind).toEqual(["0.0.0.0:80", "0.0.0.0:81"]);
    expect((await load({ cwd, argv: ["-b", "127.0.0.1:5000"] })).settings.bind).toEqual(["127.0.0.1:5000"]);
  });

  test("BUNICORN_BIND takes a comma list or a JSON array", async () => {
    expect((await load({ env: { BUNICORN_BIND: "127.0.0.1:1,127.0.0.1:2" } })).settings.bind).toEqual(["127.0.0.1:1", "127.0.0.1:2"]);
    expect((await load({ env: { BUNICORN_BIND: '["127.0.0.1:3"]' } })).settings.bind).toEqual(["127.0.0.1:3"]);
  });

  test("--reuse-port / --no-reuse-port, last one wins", async () => {
    expect((await load()).settings.reuse_port).toBeNull();
    expect((await load({ argv: ["--reuse-port"] })).settings.reuse_port).toBe(true);
    expect((await load({ argv: ["--no-reuse-port"] })).settings.reuse_port).toBe(false);
    expect((await load({ argv: ["--no-reuse-port", "--reuse-port"] })).settings.reuse_port).toBe(true);
    expect((await load({ argv: ["--reuse-port", "--no-reuse-port"] })).settings.reuse_port).toBe(false);
    expect((await load({ env: { BUNICORN_REUSE_PORT: "false" } })).settings.reuse_port).toBe(false);
  });

  test("BUNICORN_CMD_ARGS is split like a shell", async () => {
    const c = await load({ env: { BUNICORN_CMD_ARGS: `--bind=127.0.0.1:1 --workers=3 -n 'my app' --env "A=b c"` } });
    expect(c.settings.bind).toEqual(["127.0.0.1:1"]);
    expect(c.settings.workers).toBe(3);
    expect(c.settings.proc_name).toBe("my app");
    expect(c.settings.raw_env).toEqual(["A=b c"]);
  });

  test("APP_MODULE positional, -v/--version and -h/--help", async () => {
    const c = await load({ argv: ["app.ts:app", "-w", "2"] });
    expect(c.app).toBe("app.ts:app");
    expect(c.version).toBe(false);
    expect((await load({ argv: ["--version"] })).version).toBe(true);
    expect((await load({ argv: ["-v"] })).version).toBe(true);
    expect((await load({ argv: ["-h"] })).help).toBe(true);
    expect((await load()).app).toBeNull();
  });
});

describe("errors", () => {
  test("unknown setting in a config file, with did-you-mean", async () => {
    const cwd = tmp({ "bunicorn.config.ts": "export const wokers = 2;\n" });
    const e = await configError(load({ cwd }));
    expect(e.message).toContain(join(cwd, "bunicorn.config.ts"));
    expect(e.message).toContain('unknown setting "wokers"');
    expect(e.message).toContain('did you mean "workers"?');
  });

  test("unknown setting in a JSON config file, with no close match", async () => {
    const cwd = tmp({ "bunicorn.config.json": '{"completely_unrelated_thing": 1}' });
    const e = await configError(load({ cwd }));
    expect(e.message).toContain('"completely_unrelated_thing"');
    expect(e.message).not.toContain("did you mean");
  });

  test("a missing -c file names the path", async () => {
    const cwd = tmp();
    const e = await configError(load({ cwd, argv: ["-c", "nope.ts"] }));
    expect(e.message).toContain(join(cwd, "nope.ts"));
    expect(e.message).toContain("doesn't exist");
  });

  test("python: config modules are refused", async () => {
    const e = await configError(load({ argv: ["-c", "python:my.conf"] }));
    expect(e.message).toContain("python:my.conf");
  });

  test("an unsupported config file extension", async () => {
    const cwd = tmp({ "gunicorn.conf.py": "workers = 2\n" });
    const e = await configError(load({ cwd, argv: ["-c", "gunicorn.conf.py"] }));
    expect(e.message).toContain(".py");
  });

  test("a config file with a syntax error names the path", async () => {
    const cwd = tmp({ "bunicorn.config.ts": "export const workers = ;\n" });
    const e = await configError(load({ cwd }));
    expect(e.message).toContain(join(cwd, "bunicorn.config.ts"));
  });

  test("a config file that throws names the path and the error", async () => {
    const cwd = tmp({ "bunicorn.config.ts": 'throw new Error("boom from config");\n' });
    const e = await configError(load({ cwd }));
    expect(e.message).toContain(join(cwd, "bunicorn.config.ts"));
    expect(e.message).toContain("boom from config");
  });

  test("JSON that is not an object, and invalid JSON", async () => {
    let cwd = tmp({ "bunicorn.config.json": "[1, 2]" });
    let e = await configError(load({ cwd }));
    expect(e.message).toContain(join(cwd, "bunicorn.config.json"));
    expect(e.message).toContain("object");
    cwd = tmp({ "bunicorn.config.json": "{workers: 2" });
    e = await configError(load({ cwd }));
    expect(e.message).toContain(join(cwd, "bunicorn.config.json"));
    expect(e.message).toContain("invalid JSON");
  });

  test("a default export that is not an object", async () => {
    const cwd = tmp({ "bunicorn.config.ts": "export default 5;\n" });
    const e = await configError(load({ cwd }));
    expect(e.message).toContain("default export");
  });

  test("a bad value in a config file names the setting and the file", async () => {
    const cwd = tmp({ "bunicorn.config.ts": 'export const timeout = "soon";\n' });
    const e = await configError(load({ cwd }));
    expect(e.message).toContain("timeout");
    expect(e.message).toContain(join(cwd, "bunicorn.config.ts"));
  });

  test("out of range --workers 0", async () => {
    const e = await configError(load({ argv: ["--workers", "0"] }));
    expect(e.message).toContain("workers");
    expect(e.message).toContain("command line");
    expect(e.exitCode).toBe(1);
  });

  test("mistyped BUNICORN_TIMEOUT=abc", async () => {
    const e = await configError(load({ env: { BUNICORN_TIMEOUT: "abc" } }));
    expect(e.message).toContain("timeout");
    expect(e.message).toContain("BUNICORN_TIMEOUT");
  });

  test("unknown flag: UsageError, exit code 2", async () => {
    const e = await configError(load({ argv: ["--wrkers", "2"] }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("--wrkers");
  });

  test("unknown flag in BUNICORN_CMD_ARGS names the variable", async () => {
    const e = await configError(load({ env: { BUNICORN_CMD_ARGS: "--nope" } }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toStartWith("BUNICORN_CMD_ARGS");
  });

  test("APP_MODULE in BUNICORN_CMD_ARGS is refused", async () => {
    const e = await configError(load({ env: { BUNICORN_CMD_ARGS: "app.ts" } }));
    expect(e.message).toContain("BUNICORN_CMD_ARGS");
  });

  test("a flag missing its value", async () => {
    const e = await configError(load({ argv: ["--workers"] }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("--workers");
    expect(e.message).toContain("expected one argument");
  });

  test("a boolean flag given a value", async () => {
    const e = await configError(load({ argv: ["--reuse-port=yes"] }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain("--reuse-port");
  });

  test("two positionals", async () => {
    const e = await configError(load({ argv: ["a.ts", "b.ts"] }));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain("b.ts");
  });

  test("not-applicable --pythonpath x", async () => {
    const e = await configError(load({ argv: ["--pythonpath", "x"] }));
    expect(e.message).toContain("Setting pythonpath is not applicable on Bun");
    expect(e.message).toContain("NODE_PATH");
  });

  test("not-applicable spew in a config file", async () => {
    const cwd = tmp({ "bunicorn.config.ts": "export const spew = true;\n" });
    const e = await configError(load({ cwd }));
    expect(e.message).toContain("spew");
  });
});
