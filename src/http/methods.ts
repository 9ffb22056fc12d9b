/**
 * @module
 * The request methods a Bun `Request` carries. Bun 1.4.4's `Request` keeps exactly these 35
 * (uWebSockets' list, which is also what Bun.serve's parser accepts) and silently turns any other
 * method into `GET` (`new Request(url, { method: "FOO" }).method` is `"GET"`; lower-case spellings
 * of some are upper-cased, others become `GET` too). So the engine never builds a Request for
 * another method: it answers 501 instead of handing the app a request with a different method
 * (Bun.serve closes the connection without an answer for one).
 */

/** Bun's (uWebSockets') methods: the ones a `Request` carries unchanged. */
export const BUN_METHODS: readonly string[] = [
  "ACL", "BIND", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK", "M-SEARCH", "MERGE",
  "MKACTIVITY", "MKCALENDAR", "MKCOL", "MOVE", "NOTIFY", "OPTIONS", "PATCH", "POST", "PROPFIND", "PROPPATCH",
  "PURGE", "PUT", "QUERY", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "TRACE", "UNBIND", "UNLINK",
  "UNLOCK", "UNSUBSCRIBE",
];

const CARRIED: ReadonlySet<string> = new Set(BUN_METHODS);

/** Whether a `Request` keeps `method` as it is (case-sensitive: `get` would become `GET`). */
export function requestCarriesMethod(method: string): boolean {
  return CARRIED.has(method);
}
