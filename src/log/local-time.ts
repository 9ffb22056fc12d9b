/**
 * @module
 * @internal The local time of a log line. JavaScript's local-time `Date` methods load ICU's time
 * zone support, about 2.5 MB of RSS in every process that writes one line; most servers and
 * containers run in UTC (or another zone with one fixed offset), where the offset is a constant
 * read from the zone file. Any other zone (daylight saving, a history of offsets, leap seconds,
 * a zone file that cannot be read) uses the `Date` methods.
 */
import { readFileSync } from "node:fs";

export interface LocalTime {
  year: number;
  /** 1-12. */
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
  /** Minutes east of UTC. */
  offset: number;
}

const UTC_NAMES = /^(UTC|UCT|GMT|Zulu|Universal|Etc\/(UTC|UCT|GMT|Zulu|Universal))$/;
/** A POSIX TZ rule with a standard time only (no daylight saving part). */
const FIXED_RULE = /^(<[A-Za-z0-9+-]+>|[A-Za-z]{3,})[+-]?\d{1,2}(:\d{2}){0,2}$/;

/** The zone's constant UTC offset in minutes, if a TZif file says there is only one. */
export function tzifFixedOffset(b: Uint8Array): number | null {
  if (b.length < 44) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const MAGIC = 0x545a6966; // "TZif"
  if (v.getUint32(0) !== MAGIC) return null;
  const version = b[4]!;
  const counts = (at: number) => ({
    isut: v.getUint32(at + 20),
    isstd: v.getUint32(at + 24),
    leap: v.getUint32(at + 28),
    time: v.getUint32(at + 32),
    type: v.getUint32(at + 36),
    char: v.getUint32(at + 40),
  });
  let header = 0;
  let c = counts(0);
  let timeSize = 4;
  if (version >= 0x32) {
    // Version 2+: skip the 32-bit block; the 64-bit block and the footer follow.
    header = 44 + c.time * 5 + c.type * 6 + c.char + c.leap * 8 + c.isstd + c.isut;
    if (b.length < header + 44 || v.getUint32(header) !== MAGIC) return null;
    c = counts(header);
    timeSize = 8;
  }
  if (c.time !== 0 || c.type !== 1 || c.leap !== 0) return null;
  const ttinfo = header + 44;
  if (b.length < ttinfo + 6) return null;
  const utoff = v.getInt32(ttinfo);
  if (b[ttinfo + 4] !== 0 || utoff % 60 !== 0) return null;
  if (version >= 0x32) {
    const footerAt = ttinfo + c.type * 6 + c.char + c.leap * (timeSize + 4) + c.isstd + c.isut;
    const text = new TextDecoder().decode(b.subarray(footerAt));
    const m = /^\n([^\n]*)\n/.exec(text);
    if (!m) return null;
    if (m[1] !== "" && !FIXED_RULE.test(m[1]!)) return null;
  }
  return utoff / 60;
}

/** The fixed offset of the zone `TZ` names (or of /etc/localtime), or null. */
function fixedOffset(tz: string | undefined): number | null {
  let file = "/etc/localtime";
  if (tz !== undefined) {
    const name = tz.startsWith(":") ? tz.slice(1) : tz;
    if (UTC_NAMES.test(name)) return 0;
    if (name.startsWith("/")) file = name;
    else if (/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(name)) file = `${process.env.TZDIR || "/usr/share/zoneinfo"}/${name}`;
    else return null;
  }
  try {
    return tzifFixedOffset(readFileSync(file));
  } catch {
    return null;
  }
}

let knownTz: string | undefined;
let known = false;
let offset: number | null = null;

/** `ms` as local time. */
export function localTime(ms: number): LocalTime {
  // Bun changes the process's zone when `process.env.TZ` is assigned, so look again then.
  const tz = process.env.TZ;
  if (!known || tz !== knownTz) {
    offset = fixedOffset(tz);
    knownTz = tz;
    known = true;
  }
  if (offset !== null) {
    const d = new Date(ms + offset * 60_000);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hours: d.getUTCHours(), minutes: d.getUTCMinutes(), seconds: d.getUTCSeconds(), offset };
  }
  const d = new Date(ms);
  return { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), hours: d.getHours(), minutes: d.getMinutes(), seconds: d.getSeconds(), offset: -d.getTimezoneOffset() };
}

/** `+0100`, `-0530`. */
export function formatOffset(minutes: number): string {
  const a = Math.abs(minutes);
  return `${minutes >= 0 ? "+" : "-"}${String(Math.floor(a / 60)).padStart(2, "0")}${String(a % 60).padStart(2, "0")}`;
}
