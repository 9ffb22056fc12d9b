/**
 * @module
 * Bun's TLS options from Gunicorn's SSL settings: the one builder both engines use (Bun.serve's
 * `tls` in reuse-port mode, `Bun.listen({fd, tls})` under bunicorn's HTTP engine in
 * shared-socket mode), and the `ssl_context` hook around it.
 *
 * | setting | Bun option |
 * |---|---|
 * | `certfile` | `cert` (the file's text) |
 * | `keyfile` | `key`; when unset, the key is read from `certfile` (a file holding both) |
 * | `ca_certs` | `ca` |
 * | `cert_reqs` 1 / 2 | `requestCert: true` with `rejectUnauthorized` false / true |
 * | `ciphers` | `ciphers` |
 * | `ssl_version` `TLSv1`, `TLSv1_1`, `TLSv1_2` | `minVersion` 0x0301, 0x0302, 0x0303 (the oldest version accepted) |
 *
 * Files are read as text when the options are built, so a missing or unreadable file fails the
 * worker's start with the setting's name, and the options survive a structured clone (gthread
 * threads get their process's options).
 *
 * `ssl_context(config, default_ssl_context_factory)` receives the settings and a function that
 * returns a fresh default options object; it returns Bun's TLS options (maybe modified, e.g.
 * `minVersion: 0x0304` for TLS 1.3 only), or a Promise of them.
 */
import { readFileSync } from "node:fs";
import type { Settings } from "../config/registry.ts";
import { firstLine } from "../errors.ts";

/** Bun's TLS options (`Bun.TLSOptions`, plus the `minVersion` Bun 1.4.4 honours but does not type). */
export type TlsOptions = import("bun").TLSOptions & { minVersion?: number; maxVersion?: number };

/** The SSL settings the builder reads. */
export type TlsSettings = Pick<Settings, "certfile" | "keyfile" | "ca_certs" | "cert_reqs" | "ciphers" | "ssl_version">;

/** `ssl_version` values that set a minimum TLS version, and that version's wire number. */
const MIN_VERSION: Readonly<Record<string, number>> = { TLSv1: 0x0301, TLSv1_1: 0x0302, TLSv1_2: 0x0303 };

/** Whether the server speaks TLS: a `certfile` or a `keyfile` is set (Gunicorn's `is_ssl`). */
export function tlsEnabled(cfg: Pick<Settings, "certfile" | "keyfile">): boolean {
  return Boolean(cfg.certfile || cfg.keyfile);
}

/** `ssl_version` as Bun's `minVersion`, or null for the default (TLS 1.2 and 1.3). */
export function minTlsVersion(sslVersion: string): number | null {
  return MIN_VERSION[sslVersion] ?? null;
}

/** Reads one of the SSL settings' files; the error names the setting. */
function readSetting(name: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${name}: cannot read ${path}: ${firstLine(e)}`);
  }
}

/** The default TLS options from the SSL settings (Gunicorn's `default_ssl_context_factory`). */
export function defaultTlsOptions(cfg: TlsSettings): TlsOptions {
  if (!cfg.certfile) throw new Error("certfile: not set (keyfile needs a certificate)");
  const cert = readSetting("certfile", cfg.certfile);
  const tls: TlsOptions = { cert, key: cfg.keyfile ? readSetting("keyfile", cfg.keyfile) : cert };
  if (cfg.ca_certs) tls.ca = readSetting("ca_certs", cfg.ca_certs);
  if (cfg.cert_reqs > 0) {
    tls.requestCert = true;
    tls.rejectUnauthorized = cfg.cert_reqs === 2;
  }
  if (cfg.ciphers) tls.ciphers = cfg.ciphers;
  const min = minTlsVersion(cfg.ssl_version);
  if (min !== null) tls.minVersion = min;
  return tls;
}

/**
 * The TLS options a worker serves with: null without TLS; else the defaults, passed through the
 * `ssl_context` hook when one is set. Throws when a file cannot be read or the hook fails.
 */
export async function resolveTlsOptions(cfg: Readonly<Settings>): Promise<TlsOptions | null> {
  if (!tlsEnabled(cfg)) return null;
  const hook = cfg.ssl_context;
  if (typeof hook !== "function") return defaultTlsOptions(cfg);
  let tls: unknown;
  try {
    tls = await hook(cfg, () => defaultTlsOptions(cfg));
  } catch (e) {
    throw new Error(`ssl_context hook failed: ${firstLine(e)}`);
  }
  if (tls === null || typeof tls !== "object" || Array.isArray(tls)) {
    throw new Error("ssl_context must return Bun's TLS options (an object such as the default factory's)");
  }
  return tls as TlsOptions;
}
