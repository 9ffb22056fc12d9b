/**
 * @module
 * `req.params` of a route request, built as Bun.serve 1.4.4 builds it: the names come from the
 * route's path (for each segment, the text after its last `:`, when not empty), the values are
 * the path segments the route's `:params` matched, in order (`""` for a name with no segment),
 * percent-decoded by Bun's rules: an escape that is not two hex digits, or bytes that are not
 * UTF-8 (overlong forms and surrogates included), become U+FFFD; `+` stays `+`.
 */

/** The prototype of a params object with entries (Bun's `RequestParams`: no Object methods). */
const PARAMS_PROTO: object = Object.create(null, { [Symbol.toStringTag]: { value: "RequestParams" } });

/** The parameter names of a route path, as Bun reads them. */
export function paramNames(path: string): string[] {
  const names: string[] = [];
  let start = 0;
  for (let j = 0; j <= path.length; j++) {
    const c = j === path.length ? 47 : path.charCodeAt(j);
    if (c === 47 /* / */) {
      if (start > 0 && start < j) names.push(path.slice(start, j));
      start = 0;
    } else if (c === 58 /* : */) start = j + 1;
  }
  return names;
}

/** The params object for `names` and the raw segments the route's parameters matched. */
export function paramsObject(names: readonly string[], values: readonly string[]): Record<string, string> {
  const params = Object.create(names.length === 0 ? null : PARAMS_PROTO) as Record<string, string>;
  for (let i = 0; i < names.length; i++) {
    const v = values[i];
    params[names[i]!] = v === undefined || v === "" ? "" : decodeParam(v);
  }
  return params;
}

const REPLACEMENT = "\uFFFD";

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** The byte of the escape at `i` in `s` (`%XX`), or -1 when there is none. */
function escapedByte(s: string, i: number): number {
  if (i + 2 >= s.length || s.charCodeAt(i) !== 37 /* % */) return -1;
  const h = hex(s.charCodeAt(i + 1));
  const l = hex(s.charCodeAt(i + 2));
  return h < 0 || l < 0 ? -1 : (h << 4) | l;
}

/**
 * Decodes one parameter value like Bun's `decodeURIComponentSIMD`. Bytes outside ASCII in the
 * raw target (the engine keeps the request line as latin1) are read as if escaped, so that a
 * raw UTF-8 name decodes as its escaped form does.
 */
export function decodeParam(raw: string): string {
  if (raw.indexOf("%") < 0 && !/[^\x00-\x7f]/.test(raw)) return raw;
  const s = /[^\x00-\x7f]/.test(raw) ? raw.replace(/[^\x00-\x7f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`) : raw;
  let out = "";
  let i = 0;
  const n = s.length;
  while (i < n) {
    const p = s.indexOf("%", i);
    if (p < 0) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, p);
    i = p;
    if (i + 2 >= n) {
      out += REPLACEMENT;
      i++;
      continue;
    }
    const lead = escapedByte(s, i);
    if (lead < 0) {
      out += REPLACEMENT;
      i += 3;
      continue;
    }
    i += 3;
    let more: number;
    let value: number;
    if ((lead & 0x80) === 0) {
      out += String.fromCharCode(lead);
      continue;
    } else if ((lead & 0xe0) === 0xc0) {
      more = 1;
      value = lead & 0x1f;
    } else if ((lead & 0xf0) === 0xe0) {
      more = 2;
      value = lead & 0x0f;
    } else if ((lead & 0xf8) === 0xf0) {
      more = 3;
      value = lead & 0x07;
    } else {
      out += REPLACEMENT;
      continue;
    }
    // Continuation bytes: a missing or bad one ends the sequence with one U+FFFD, and decoding
    // resumes at that byte.
    let last = lead;
    let bad = false;
    for (let k = 0; k < more; k++) {
      const b = escapedByte(s, i);
      if (b < 0 || (b & 0xc0) !== 0x80) {
        bad = true;
        break;
      }
      value = (value << 6) | (b & 0x3f);
      last = b;
      i += 3;
    }
    if (bad) {
      out += REPLACEMENT;
      continue;
    }
    if (more === 1) out += value < 0x80 || value > 0x7ff ? REPLACEMENT : String.fromCharCode(value);
    else if (more === 2) {
      const invalid = value < 0x800 || value > 0xffff || (value >= 0xd800 && value <= 0xdfff) || (last === 0xe0 && (value & 0x1f00) === 0);
      out += invalid ? REPLACEMENT : String.fromCharCode(value);
    } else {
      const invalid = value < 0x10000 || value > 0x10ffff || (last === 0xf0 && (value & 0x040000) === 0);
      out += invalid ? REPLACEMENT : String.fromCodePoint(value);
    }
  }
  return out;
}
