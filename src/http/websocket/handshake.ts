/**
 * The opening handshake (RFC 6455 4.2), checked as Bun.serve checks it: a GET with
 * `Upgrade: websocket` and a `Sec-WebSocket-Key` of 16 base64 bytes can be upgraded; a
 * `Sec-WebSocket-Version` other than 13 is answered `426 Upgrade Required` with
 * `Sec-WebSocket-Version: 13`. Bun.serve does not require `Connection: Upgrade` and accepts
 * HTTP/1.0; so does the engine.
 *
 * @module
 */
import { headerValue } from "../header-value.ts";
import type { RequestHead } from "../parser.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** The key of a request that can be upgraded, `"version"` for a wrong version, or null. */
export function handshakeKey(head: RequestHead): string | "version" | null {
  if (head.method !== "GET" || head.contentLength > 0 || head.chunked) return null;
  const h = head.headers;
  const upgrade = headerValue(h, "upgrade");
  if (upgrade === null || !hasToken(upgrade, "websocket")) return null;
  const key = headerValue(h, "sec-websocket-key");
  if (key === null || !KEY.test(key.trim())) return null;
  if (headerValue(h, "sec-websocket-version")?.trim() !== "13") return "version";
  return key.trim();
}

/** `Sec-WebSocket-Accept` for `key`. */
export function acceptKey(key: string): string {
  return Bun.SHA1.hash(key + GUID, "base64");
}

/** The head Bun.serve sends for a wrong `Sec-WebSocket-Version` (and then it closes). */
export const VERSION_REQUIRED_HEAD = "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n";

function hasToken(value: string, token: string): boolean {
  for (const t of value.split(",")) if (t.trim().toLowerCase() === token) return true;
  return false;
}
