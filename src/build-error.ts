/**
 * @module
 * @internal Bun's parse errors as one line. A module with a syntax error fails to import with a
 * `BuildMessage` (one error) or an `AggregateError` of them (`3 errors building "/app.ts"`),
 * whose message alone says neither what nor where; each `BuildMessage` carries both (its
 * `message` and its `position`). Imports nothing, like `errors.ts`, so workers can use it.
 */

interface BuildPosition {
  file: string;
  line: number;
  column: number;
}

/** `MESSAGE at FILE:LINE:COLUMN` for a `BuildMessage`, or null for anything else. */
function located(m: unknown): string | null {
  if (m === null || typeof m !== "object") return null;
  const { message, position } = m as { message?: unknown; position?: BuildPosition | null };
  if (typeof message !== "string" || !position || typeof position.file !== "string") return null;
  return `${message} at ${position.file}:${position.line}:${position.column}`;
}

/**
 * Bun's first parse error with its location (`Unexpected ; at /srv/app.ts:2:12`), and how many
 * more there are; null when `e` is not a parse error (then its own message says what it is).
 */
export function buildErrorLine(e: unknown): string | null {
  const errors: unknown[] = e instanceof AggregateError && Array.isArray(e.errors) ? e.errors : [e];
  const first = errors.map(located).find((x) => x !== null);
  if (first === undefined || first === null) return null;
  const more = errors.length - 1;
  return more > 0 ? `${first} (and ${more} more error${more > 1 ? "s" : ""})` : first;
}
