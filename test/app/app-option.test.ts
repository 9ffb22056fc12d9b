import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { appObjectError, appRelativeTo, baseDir } from "../../src/app/app-option.ts";
import { AppLoadError, ConfigError } from "../../src/errors.ts";

const APPS = resolve(import.meta.dir, "../fixtures/apps");

test("run({ app, base }): the module is made absolute against base's directory, the export and factory call kept", () => {
  const caller = pathToFileURL(`${APPS}/launcher.ts`);
  expect(appRelativeTo("./hello.ts", caller)).toBe(`${APPS}/hello.ts`);
  expect(appRelativeTo("./named:app", caller.href)).toBe(`${APPS}/named.ts:app`);
  expect(appRelativeTo(' factory.ts:create_app("a:b", 2)', APPS)).toBe(`${APPS}/factory.ts:create_app("a:b", 2)`);
  expect(appRelativeTo("./pkgdir", `${APPS}/x.ts`)).toBe(`${APPS}/pkgdir/index.ts`);
  expect(appRelativeTo(`${APPS}/hello.ts`, "/")).toBe(`${APPS}/hello.ts`);
});

test("run({ base }): a module missing there, a relative or malformed base: one-line errors", () => {
  expect(() => appRelativeTo("./nope.ts", APPS)).toThrow(AppLoadError);
  expect(() => appRelativeTo("./nope.ts", APPS)).toThrow(`No module named "./nope.ts" (looked in ${APPS})`);
  expect(() => baseDir("relative/dir")).toThrow(ConfigError);
  expect(() => baseDir("file://host/x")).toThrow("is not a file: URL or a path");
  expect(baseDir(APPS)).toBe(APPS);
  expect(baseDir(`${APPS}/does-not-exist.ts`)).toBe(APPS);
});

test("an app object: why it cannot be passed and what to pass instead, on one line", () => {
  const e = appObjectError({ fetch() {} });
  expect(e.message).toStartWith("run(): app is an object, not an APP_MODULE string: workers are separate processes");
  expect(e.message).toContain('run({ app: "./server.ts:app", base: import.meta.url })');
  expect(e.message).not.toContain("\n");
  expect(appObjectError(() => {}).message).toStartWith("run(): app is a function,");
});
