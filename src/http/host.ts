/**
 * @module
 * What a `Host` header may hold (an authority: reg-name or IP literal, and a port), for the engine's
 * parser and for reuse-port mode's check of what Bun.serve parsed (src/workers/reuse-port-checks.ts).
 * No space, `/`, `?`, `#` or `@`: Bun.serve's `req.url` becomes a bare path for such a Host, and a
 * repeated Host reaches JavaScript joined with `, `, which this refuses too.
 */

/** 1 for characters allowed in a Host header value (authority: reg-name / IP-literal, port). */
export const HOST_CHARS: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of "-._~!$&'()*+,;=%:[]0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") t[c.charCodeAt(0)] = 1;
  return t;
})();

/** Whether every character of `host` may appear in a Host header (an empty value passes). */
export function hostCharsValid(host: string): boolean {
  for (let k = 0; k < host.length; k++) {
    if (HOST_CHARS[host.charCodeAt(k)] !== 1) return false;
  }
  return true;
}
