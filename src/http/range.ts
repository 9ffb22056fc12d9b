/**
 * Internal: a `Range` request header against a body of known size, as Bun.serve answers it for
 * file responses (RFC 9110 §14): one `bytes=` range gives 206 with that slice, an unsatisfiable
 * one 416, anything else (several ranges, other units, a malformed value) the whole body.
 *
 * Not part of the public API.
 * @module
 */

/** What to send: the whole body, the bytes `[start, end)`, or 416. */
export type RangeResult = { kind: "all" } | { kind: "part"; start: number; end: number } | { kind: "unsatisfiable" };

const ALL: RangeResult = { kind: "all" };
const RANGE_RE = /^bytes=(\d*)-(\d*)$/;

/** Resolves the `Range` header `value` (null when absent) against `size` bytes. */
export function resolveRange(value: string | null, size: number): RangeResult {
  if (value === null) return ALL;
  const m = RANGE_RE.exec(value.trim());
  if (m === null) return ALL;
  const [, a, b] = m as unknown as [string, string, string];
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
