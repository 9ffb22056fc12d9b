/**
 * @module
 * `http_protocols` (Gunicorn 25: `h1`, `h2`, `h3`; order is preference) on Bun, and which
 * listening modes can serve which protocol.
 *
 * Reuse-port mode maps the list onto Bun.serve's `http1`/`http2`/`http3` (experimental in Bun
 * 1.4.4, verified there): `h2` is HTTP/2 by ALPN with TLS and, without TLS, by prior knowledge
 * (h2c; Bun does not honour `Upgrade: h2c`, such a request is answered over HTTP/1.1); `h3` is
 * QUIC on the same port number over UDP and needs TLS; a list without `h1` refuses HTTP/1.x
 * clients. Bun picks among the protocols itself, so the list's order has no effect.
 *
 * Shared-socket mode (bunicorn's own engine on `Bun.listen`: `unix:`, `fd://`, systemd,
 * `--no-reuse-port`) speaks HTTP/1.x only, so anything but `h1` there is refused at start.
 */
import type { ListenMode } from "./protocol.ts";

export type HttpProtocol = "h1" | "h2" | "h3";

/** Bun.serve's protocol switches for `protocols`; empty for the default (`h1` only). */
export function serveProtocolOptions(protocols: readonly string[]): { http1?: false; http2?: true; http3?: true } {
  const out: { http1?: false; http2?: true; http3?: true } = {};
  if (!protocols.includes("h1")) out.http1 = false;
  if (protocols.includes("h2")) out.http2 = true;
  if (protocols.includes("h3")) out.http3 = true;
  return out;
}

/**
 * Why `protocols` cannot be served with these listening modes (and TLS on or off), as the one
 * `Error:` line bunicorn exits with; null when it can.
 */
export function protocolsError(protocols: readonly string[], modes: ReadonlySet<ListenMode>, tls: boolean): string | null {
  if (protocols.includes("h3") && !tls) return "http_protocols: h3 (HTTP/3 over QUIC) needs TLS; set certfile and keyfile";
  if (modes.has("shared-socket")) {
    const other = protocols.filter((p) => p !== "h1");
    if (other.length > 0) {
      return `http_protocols: ${other.join(", ")} cannot be served in shared-socket mode (bunicorn's HTTP/1.1 engine, used for unix:, fd://, systemd sockets and --no-reuse-port); use a HOST:PORT bind in reuse-port mode, or http_protocols = h1`;
    }
  }
  return null;
}
