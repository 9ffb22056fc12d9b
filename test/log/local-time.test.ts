/**
 * Log-line local time: the fixed-offset shortcut (no ICU) must agree with JavaScript's
 * local-time Date methods in every zone, and zones with daylight saving or history must fall
 * back to those methods.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { localTime, tzifFixedOffset } from "../../src/log/local-time.ts";

/** TZif files copied from the tz database (public domain), so the test reads nothing outside the repository. */
const ZONEINFO = join(import.meta.dir, "../fixtures/zoneinfo");
const saved = process.env.TZ;
afterAll(() => {
  if (saved === undefined) delete process.env.TZ;
  else process.env.TZ = saved;
});

const zone = (name: string) => `${ZONEINFO}/${name}`;

test("TZif files: one offset and no transitions is fixed; anything else is not", () => {
  expect(tzifFixedOffset(readFileSync(zone("Etc/UTC")))).toBe(0);
  expect(tzifFixedOffset(readFileSync(zone("Etc/GMT-14")))).toBe(14 * 60);
  expect(tzifFixedOffset(readFileSync(zone("Etc/GMT+5")))).toBe(-5 * 60);
  for (const name of ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]) {
    expect(tzifFixedOffset(readFileSync(zone(name)))).toBeNull();
  }
  expect(tzifFixedOffset(new Uint8Array(10))).toBeNull();
  expect(tzifFixedOffset(new TextEncoder().encode("not a zone file, but long enough to have a header"))).toBeNull();
});

test("localTime agrees with the Date local-time methods, zone by zone", () => {
  const times = [0, 1_790_000_000_000, 1_711_846_800_000, 1_729_990_800_000, Date.now()];
  for (const tz of [undefined, "UTC", ":UTC", "Etc/UTC", "Etc/GMT-14", "Etc/GMT+5", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]) {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
    for (const ms of times) {
      const d = new Date(ms);
      const want = { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), hours: d.getHours(), minutes: d.getMinutes(), seconds: d.getSeconds(), offset: -d.getTimezoneOffset() || 0 };
      const got = localTime(ms);
      expect({ tz, ms, ...got, offset: got.offset || 0 }).toEqual({ tz, ms, ...want });
    }
  }
});
