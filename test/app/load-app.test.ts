import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { loadApp, parseAppSpec, parseLiteralArgs, resolveAppModule, toFetchApp } from "../../src/app/load-app.ts";
import { APP_LOAD_ERROR, AppLoadError } from "../../src/errors.ts";

const ROOT = resolve(import.meta.dir, "../..");
const APPS = resolve(ROOT, "test/fixtures/apps");

/** Expects `p` to reject with a one-line AppLoadError (exit code 4) and returns its message. */
async function loadError(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(AppLoadError);
    const err = e as AppLoadError;
    expect(err.exitCode).toBe(4);
    expect(err.exitCode).toBe(APP_LOAD_ERROR);
    expect(err.message).not.toContain("\n");
    expect(err.message.length).toBeGreaterThan(0);
    return err.message;
  }
  throw new Error("expected an AppLoadError");
}

async function body(app: { fetch: (r: Request, s: unknown) => Response | Promise<Response> }, path = "/"): Promise<string> {
  const res = await app.fetch(new Request(`http://localhost${path}`), null);
  return res.text();
}

describe("parseAppSpec", () => {
  test("module only", () => {
    expect(parseAppSpec("a.ts")).toEqual({ module: "a.ts", name: null, args: null });
    expect(parseAppSpec("  ./dir/a.ts  ")).toEqual({ module: "./dir/a.ts", name: null, args: null });
    expect(parseAppSpec("a.ts:")).toEqual({ module: "a.ts", name: null, args: null });
  });

  test("module:name", () => {
    expect(parseAppSpec("a.ts:app")).toEqual({ module: "a.ts", name: "app", args: null });
    expect(parseAppSpec("pkg.module:$app_1")).toEqual({ module: "pkg.module", name: "$app_1", args: null });
  });

  test("module:factory()", () => {
    expect(parseAppSpec("a:create_app()")).toEqual({ module: "a", name: "create_app", args: [] });
    expect(parseAppSpec("a:create_app( )")).toEqual({ module: "a", name: "create_app", args: [] });
  });

  test("factory with Python-style literal arguments", () => {
    expect(parseAppSpec("a:create_app('x', 2, True)")).toEqual({ module: "a", name: "create_app", args: ["x", 2, true] });
    expect(parseAppSpec(`a:f("y", -1.5, False, None)`)).toEqual({ module: "a", name: "f", args: ["y", -1.5, false, null] });
    expect(parseAppSpec("a:f('it\\'s')").args).toEqual(["it's"]);
  });

  test("factory with a JSON object argument; colons inside the call do not split", () => {
    expect(parseAppSpec('a:f({"k": 1})')).toEqual({ module: "a", name: "f", args: [{ k: 1 }] });
    expect(parseAppSpec('a:f({"url": "http://x:1"}, [1, 2])')).toEqual({ module: "a", name: "f", args: [{ url: "http://x:1" }, [1, 2]] });
  });

  test("Python keywords inside strings are left alone", () => {
    expect(parseAppSpec("a:f('True', \"None\", 'False alarm')").args).toEqual(["True", "None", "False alarm"]);
  });

  test.each(["", "   ", ":app", "a:1bad", "a:f(", "a:f(x)", "a:f(1,)", "a:f('open)", "a:f()()", "a:two words"])("bad syntax %p", async (spec) => {
    await loadError(() => parseAppSpec(spec));
  });

  test("parseLiteralArgs directly", () => {
    expect(parseLiteralArgs("")).toEqual([]);
    expect(parseLiteralArgs("1, 'a', null, true")).toEqual([1, "a", null, true]);
  });
});

describe("loadApp", () => {
  test("default export object with fetch (websocket kept)", async () => {
    const app = await loadApp("test/fixtures/apps/default-object.ts", ROOT);
    expect(await body(app)).toBe("default-object");
    expect(app.websocket).toBeDefined();
  });

  test("named export function", async () => {
    const app = await loadApp("test/fixtures/apps/named.ts:app", ROOT);
    expect(await body(app, "/x/y")).toBe("named /x/y");
    expect(app.websocket).toBeUndefined();
  });

  test("absolute path", async () => {
    const app = await loadApp(`${APPS}/named.ts:app`, "/");
    expect(await body(app)).toBe("named /");
  });

  test("sync factory with args", async () => {
    const app = await loadApp("factory.ts:create_app('prod', 2, True, None)", APPS);
    expect(JSON.parse(await body(app))).toEqual({ kind: "sync", args: ["prod", 2, true, null] });
    const noArgs = await loadApp("factory.ts:create_app()", APPS);
    expect(JSON.parse(await body(noArgs))).toEqual({ kind: "sync", args: [] });
  });

  test("async factory with args", async () => {
    const app = await loadApp('factory.ts:createAsync("svc", {"k": 1})', APPS);
    expect(JSON.parse(await body(app))).toEqual({ kind: "async", name: "svc", opts: { k: 1 } });
  });

  test("a Hono app", async () => {
    const app = await loadApp("test/fixtures/apps/hono-app.ts", ROOT);
    expect(await body(app)).toBe("hono root");
    expect(JSON.parse(await body(app, "/hello/bun"))).toEqual({ hello: "bun" });
    const res = await app.fetch(new Request("http://localhost/missing"), null);
    expect(res.status).toBe(404);
  });

  test("dotted module path relative to cwd", async () => {
    const app = await loadApp("test.fixtures.apps.hello:app", ROOT);
    expect(await body(app)).toBe("hello dotted");
    await loadError(loadApp("test.fixtures.apps.hello:app", APPS));
  });

  test("extensionless path and directory index", async () => {
    expect(await body(await loadApp("test/fixtures/apps/hello:app", ROOT))).toBe("hello dotted");
    expect(await body(await loadApp("./named:app", APPS))).toBe("named /");
    expect(await body(await loadApp("pkgdir", APPS))).toBe("index of pkgdir");
  });

  test("resolveAppModule finds the file", () => {
    expect(resolveAppModule("hello", APPS)).toBe(resolve(APPS, "hello.ts"));
    expect(resolveAppModule("test.fixtures.apps.hello", ROOT)).toBe(resolve(APPS, "hello.ts"));
    expect(resolveAppModule("pkgdir", APPS)).toBe(resolve(APPS, "pkgdir/index.ts"));
  });

  test("cwd defaults to process.cwd()", async () => {
    expect(process.cwd()).toBe(ROOT);
    expect(await body(await loadApp("test/fixtures/apps/hello.ts:app"))).toBe("hello dotted");
  });
});

describe("loadApp errors", () => {
  test("missing module", async () => {
    const msg = await loadError(loadApp("nope/does-not-exist.ts", APPS));
    expect(msg).toContain("does-not-exist.ts");
  });

  test("missing named export names the export", async () => {
    const msg = await loadError(loadApp("named.ts:missingThing", APPS));
    expect(msg).toContain('"missingThing"');
  });

  test("missing default export suggests naming one", async () => {
    const msg = await loadError(loadApp("no-default.ts", APPS));
    expect(msg).toContain("default export");
  });

  test("not an app: a number", async () => {
    const msg = await loadError(loadApp("named.ts:notAnApp", APPS));
    expect(msg).toContain("notAnApp");
    expect(msg).toContain("number");
  });

  test("not an app: an object without fetch, null", async () => {
    expect(await loadError(loadApp("named.ts:noFetch", APPS))).toContain("object");
    expect(await loadError(loadApp("named.ts:nothing", APPS))).toContain("null");
  });

  test("a factory that throws (sync and async)", async () => {
    expect(await loadError(loadApp("named.ts:broken()", APPS))).toContain("factory exploded");
    expect(await loadError(loadApp("factory.ts:asyncBroken()", APPS))).toContain("async factory failed");
  });

  test("calling something that is not callable", async () => {
    expect(await loadError(loadApp("factory.ts:notCallable()", APPS))).toContain("not callable");
  });

  test("a module that throws on import", async () => {
    const msg = await loadError(loadApp("throws-on-import.ts", APPS));
    expect(msg).toContain("throws-on-import.ts");
    expect(msg).toContain("import-time failure");
  });

  test("toFetchApp rejects arrays and strings", async () => {
    expect(await loadError(() => toFetchApp([], "x"))).toContain("an array");
    expect(await loadError(() => toFetchApp("str", "x"))).toContain("string");
  });
});
