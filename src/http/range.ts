/**
 * Internal: a `Range` request header against a body of known size, as Bun.serve answers it for
 * file responses (RFC 9110 §14): one `bytes=` range gives 206 with that slice, an unsatisfiable
 * one 416, anything else (several ranges, other units, a malformed value) the whole body.
 * Bun 1.4.4 is lenient in three ways this follows (measured against Bun.serve): the unit in any
 * case, spaces or tabs around `=` and `-`, and a number past 2^64-1 makes the header ignored.
 *
 * Not part of the public API.
 * @module
 */

/** What to send: the whole body, the bytes `[start, end)`, or 416. */
export type RangeResult = { kind: "all" } | { kind: "part"; start: number; end: number } | { kind: "unsatisfiable" };

const ALL: RangeResult = { kind: "all" };
const RANGE_RE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)$/i;
/** The largest number Bun parses (u64); a longer one makes it ignore the header. */
const U64_MAX = 18446744073709551615n;

function tooBig(digits: string): boolean {
  return digits.length > 15 && BigInt(digits) > U64_MAX;
}

/** Resolves the `Range` header `value` (null when absent) against `size` bytes. */
export function resolveRange(value: string | null, size: number): RangeResult {
  if (value === null) return ALL;
  const m = RANGE_RE.exec(value.trim());
  if (m === null) return ALL;
  const [, a, b] = m as unknown as [string, string, string];
  if (tooBig(a) || tooBig(b)) return ALL;
  if (a === "") {
    // A suffix: the last N bytes.
    if (b === "") return ALL;
    const n = Number(b);
    if (n === 0) return { kind: "unsatisfiable" };
    return size === 0 ? { kind: "unsatisfiable" } : { kind: "part", start: Math.max(0, size - n), end: size };
  }
  const start = Number(a);
  if (start >= size) return { kind: "unsatisfiable" };
  if (b === "") return { kind: "part", start, end: size };
  const last = Number(b);
  if (last < start) return ALL;
  return { kind: "part", start, end: Math.min(size, last + 1) };
}
