/**
 * The error log's level filter and lines (src/log/logger.ts): every message at or above the level
 * is written as Gunicorn writes it, each one (identical messages in a row included: consola,
 * which the logger used before, collapsed a sixth identical line within a second into
 * "(repeated N times)" a second later).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSettings } from "../../src/config/registry.ts";
import { Logger } from "../../src/log/logger.ts";

const dir = mkdtempSync(join(tmpdir(), "bunicorn-logger-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function logTo(file: string, loglevel: string): Logger {
  const cfg = { ...defaultSettings({}), errorlog: join(dir, file), loglevel } as never;
  return new Logger(cfg, { role: "worker" });
}

test("messages below the level are dropped; the rest are one Gunicorn line each", () => {
  const log = logTo("levels.log", "warning");
  log.debug("d");
  log.info("i");
  log.warning("w %s", "x");
  log.error("e %d", 2);
  log.critical("c");
  log.exception("x");
  log.close();
  const lines = readFileSync(join(dir, "levels.log"), "utf8").trim().split("\n");
  expect(lines.map((l) => l.replace(/^\[[^\]]+\] \[\d+\] /, ""))).toEqual(["[WARNING] w x", "[ERROR] e 2", "[CRITICAL] c", "[ERROR] x"]);
  expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[WARNING\] w x$/);
});

test("identical messages in a row are all written, at once", () => {
  const log = logTo("same.log", "debug");
  for (let i = 0; i < 8; i++) log.info("Handling signal: ttin");
  log.close();
  const lines = readFileSync(join(dir, "same.log"), "utf8").trim().split("\n");
  expect(lines.length).toBe(8);
  expect(lines.every((l) => l.endsWith("[INFO] Handling signal: ttin"))).toBe(true);
});
