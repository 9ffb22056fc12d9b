/**
 * @module
 * @internal Header lookup in the flat `[name, value, …]` lists the engine keeps (names as
 * received), for the Range check and for access-log records.
 */

/** The first value of header `name` (given in lower case) in `flat`, or null. */
export function headerValue(flat: readonly string[], name: string): string | null {
  for (let i = 0; i < flat.length; i += 2) {
    const k = flat[i]!;
    if (k.length === name.length && k.toLowerCase() === name) return flat[i + 1]!;
  }
  return null;
}
