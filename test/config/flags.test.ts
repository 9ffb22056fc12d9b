import { describe, expect, test } from "bun:test";
import { flagsOf } from "../../src/config/flags.ts";
import { getSetting } from "../../src/config/registry.ts";

function flags(name: string) {
  const setting = getSetting(name);
  if (!setting) throw new Error(`no setting ${name}`);
  return flagsOf(setting);
}

describe("flagsOf", () => {
  test("a value flag with a short alias", () => {
    expect(flags("workers")).toEqual({ long: ["--workers"], short: "-w", negative: [], kind: "string", sets: null, meta: "INT" });
  });

  test("a repeatable flag", () => {
    expect(flags("bind")).toEqual({ long: ["--bind"], short: "-b", negative: [], kind: "repeatable", sets: null, meta: "ADDRESS" });
  });

  test("two long flags for one setting, the first is the main one", () => {
    expect(flags("errorlog")).toMatchObject({ long: ["--error-logfile", "--log-file"], short: null, kind: "string", meta: "FILE" });
  });

  test("a switch with a negative form", () => {
    expect(flags("reuse_port")).toEqual({ long: ["--reuse-port"], short: null, negative: ["--no-reuse-port"], kind: "boolean", sets: true, meta: null });
  });

  test("a switch that stores false", () => {
    expect(flags("sendfile")).toEqual({ long: ["--no-sendfile"], short: null, negative: [], kind: "boolean", sets: false, meta: null });
  });

  test("a setting with no flags", () => {
    expect(flags("app")).toBeNull();
  });
});
