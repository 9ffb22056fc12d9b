/** @module Settings of the "SSL" section. */
import { defineSetting } from "../setting.ts";
import * as v from "../validators.ts";

export const sslSettings = [
  defineSetting({
    name: "keyfile",
    section: "SSL",
    cli: ["--keyfile"],
    meta: "FILE",
    default: () => null as string | null,
    validate: v.existingFile,
    scope: "worker",
    support: "supported",
    bunNote: "When unset, the private key is read from `certfile` (a file holding both), as Gunicorn does.",
    description: "SSL key file.",
  }),
  defineSetting({
    name: "certfile",
    section: "SSL",
    cli: ["--certfile"],
    meta: "FILE",
    default: () => null as string | null,
    validate: v.existingFile,
    scope: "worker",
    support: "supported",
    description: "SSL certificate file.",
  }),
  defineSetting({
    name: "ssl_version",
    section: "SSL",
    cli: ["--ssl-version"],
    meta: "STRING",
    default: () => "TLS" as string,
    defaultDoc: "`TLS`",
    validate: v.oneOf(["TLS", "TLS_SERVER", "SSLv23", "SSLv3", "TLSv1", "TLSv1_1", "TLSv1_2", "2"] as const),
    scope: "worker",
    support: "translated",
    bunNote:
      "The oldest TLS version accepted (Bun's `minVersion`), where Gunicorn 21+ ignores the setting: `TLSv1`, `TLSv1_1`, `TLSv1_2` accept that version and newer ones; `TLS`, `TLS_SERVER`, `SSLv23` and `2` keep Bun's default (TLS 1.2 and 1.3); `SSLv3` is refused at start (BoringSSL has no SSLv3). For TLS 1.3 only, return `{ ...factory(), minVersion: 0x0304 }` from the `ssl_context` hook.",
    description: "SSL version to use. Deprecated in Gunicorn: use `ssl_context` instead.",
  }),
  defineSetting({
    name: "cert_reqs",
    section: "SSL",
    cli: ["--cert-reqs"],
    meta: "INT",
    default: () => 0,
    validate: v.intRange(0, 2),
    scope: "worker",
    support: "translated",
    bunNote: "0: no client certificate; 1: `requestCert` without rejecting (unlike Python's `CERT_OPTIONAL`, a certificate that fails verification is accepted too); 2: `requestCert` + `rejectUnauthorized`. Bun cannot hand the client certificate to the app.",
    description: `Whether client certificate is required.

| value | meaning |
|---|---|
| 0 | no client verification |
| 1 | optional (\`CERT_OPTIONAL\`) |
| 2 | required (\`CERT_REQUIRED\`) |`,
  }),
  defineSetting({
    name: "ca_certs",
    section: "SSL",
    cli: ["--ca-certs"],
    meta: "FILE",
    default: () => null as string | null,
    validate: v.existingFile,
    scope: "worker",
    support: "supported",
    description: "CA certificates file.",
  }),
  defineSetting({
    name: "suppress_ragged_eofs",
    section: "SSL",
    cli: ["--suppress-ragged-eofs"],
    action: "store_true",
    default: () => true,
    validate: v.bool,
    scope: "worker",
    support: "accepted",
    bunNote: "A Python `ssl` module switch; Bun's TLS layer always treats a ragged EOF as a closed connection.",
    description: "Suppress ragged EOFs.",
  }),
  defineSetting({
    name: "do_handshake_on_connect",
    section: "SSL",
    cli: ["--do-handshake-on-connect"],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "worker",
    support: "accepted",
    bunNote: "A Python `ssl` module switch; Bun performs the handshake as soon as the connection is accepted.",
    description: "Whether to perform SSL handshake on socket connect.",
  }),
  defineSetting({
    name: "ciphers",
    section: "SSL",
    cli: ["--ciphers"],
    meta: "STRING",
    default: () => null as string | null,
    validate: v.optionalString,
    scope: "worker",
    support: "supported",
    description: `SSL Cipher suite to use, in the format of an OpenSSL cipher list.

By default Bun's (BoringSSL's) default cipher list is used.`,
  }),
] as const;
