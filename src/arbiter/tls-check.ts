/**
 * @module
 * Start-up checks of the SSL settings and `http_protocols`, before any socket or worker exists,
 * so a combination bunicorn cannot serve is one `Error:` line instead of workers that fail to
 * boot over and over. The certificate, key, CA list and ciphers are tried on a throwaway
 * `Bun.listen` (an ephemeral loopback port, closed at once), one option at a time, so the
 * message names the setting at fault. The `ssl_context` hook is not called here: it runs in the
 * workers, as in Gunicorn.
 */
import type { Settings } from "../config/registry.ts";
import { INHERITED_FDS_ENV, LISTEN_FDS_ENV, LISTEN_PID_ENV } from "../env-names.ts";
import { firstLine } from "../errors.ts";
import { protocolsError } from "../workers/http-protocols.ts";
import { defaultTlsOptions, tlsEnabled, type TlsOptions } from "../workers/tls-options.ts";
import { plannedModes } from "./listeners.ts";

/** Why bunicorn cannot start with these settings (and the environment's inherited sockets), or null. */
export function tlsStartError(cfg: Settings, env: Record<string, string | undefined>): string | null {
  const tls = tlsEnabled(cfg);
  const inherited = Boolean(env[INHERITED_FDS_ENV]) || (env[LISTEN_FDS_ENV] !== undefined && Number(env[LISTEN_PID_ENV]) === process.pid);
  const protocols = protocolsError(cfg.http_protocols, plannedModes(cfg, inherited), tls);
  if (protocols !== null) return protocols;
  if (!tls) return null;
  if (!cfg.certfile) return "keyfile: set without certfile; give the certificate with --certfile";
  if (cfg.ssl_version === "SSLv3") return "ssl_version: SSLv3 is not available on Bun (BoringSSL speaks TLS 1.0 to 1.3); use TLS or TLSv1_2";
  let full: TlsOptions;
  try {
    full = defaultTlsOptions(cfg);
  } catch (e) {
    return firstLine(e);
  }
  if (!cfg.keyfile && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(String(full.cert))) {
    return `keyfile: not set, and certfile ${cfg.certfile} holds no private key`;
  }
  const steps: [string, TlsOptions][] = [[cfg.keyfile ? "certfile/keyfile" : "certfile", { cert: full.cert, key: full.key }]];
  if (full.ca !== undefined) steps.push(["ca_certs", { cert: full.cert, key: full.key, ca: full.ca }]);
  if (full.ciphers !== undefined) steps.push(["ciphers", { cert: full.cert, key: full.key, ciphers: full.ciphers }]);
  for (const [name, options] of steps) {
    const why = tryTls(options);
    if (why !== null) return `${name}: ${why}`;
  }
  return null;
}

/** Builds a TLS listener with `tls` and closes it; the reason it failed, or null. */
function tryTls(tls: TlsOptions): string | null {
  try {
    Bun.listen({ hostname: "127.0.0.1", port: 0, tls, socket: { data() {} } }).stop(true);
    return null;
  } catch (e) {
    return firstLine(e);
  }
}
