/** @module Settings of the "Security" section (the HTTP parser's limits and the request body limit). */
import {
  DEFAULT_LIMIT_REQUEST_BODY,
  DEFAULT_LIMIT_REQUEST_FIELD_SIZE,
  DEFAULT_LIMIT_REQUEST_FIELDS,
  DEFAULT_LIMIT_REQUEST_LINE,
  MAX_HEADERS,
  MAX_REQUEST_LINE,
} from "../../http/limits.ts";
import { defineSetting } from "../setting.ts";
import * as v from "../validators.ts";

const REUSE_PORT_NOTE =
  "Enforced exactly by bunicorn's own HTTP engine (shared-socket mode). In reuse-port mode the defaults of `limit_request_line` and `limit_request_fields` are checked on what Bun.serve parsed (the line as method, normalised URL and version; repeated fields counted once), beside Bun's own fixed limits (16 KiB head, 198 headers); `limit_request_field_size` is not checked there (a pass over every field per request). Setting a non-default value selects shared-socket mode: after Bun's parser the raw line and repeated fields cannot be measured, and nothing above Bun's own limits can be allowed.";

export const securitySettings = [
  defineSetting({
    name: "limit_request_line",
    section: "Security",
    cli: ["--limit-request-line"],
    meta: "INT",
    default: () => DEFAULT_LIMIT_REQUEST_LINE,
    // Gunicorn accepts any integer >= 0 here and clamps it to MAX_REQUEST_LINE when parsing.
    validate: v.posInt,
    scope: "worker",
    support: "translated",
    bunNote: REUSE_PORT_NOTE,
    description: `The maximum size of HTTP request line in bytes.

This parameter is used to limit the allowed size of a client's HTTP request-line. Since the
request-line consists of the HTTP method, URI, and protocol version, this directive places a
restriction on the length of a request-URI allowed for a request on the server. Value is a number
from 0 (unlimited) to ${MAX_REQUEST_LINE}; a larger value is accepted and used as ${MAX_REQUEST_LINE}, as
Gunicorn does (bunicorn warns at start).`,
  }),
  defineSetting({
    name: "limit_request_fields",
    section: "Security",
    cli: ["--limit-request-fields"],
    meta: "INT",
    default: () => DEFAULT_LIMIT_REQUEST_FIELDS,
    // Gunicorn accepts any integer >= 0 here and uses MAX_HEADERS for 0 or a larger value.
    validate: v.posInt,
    scope: "worker",
    support: "translated",
    bunNote: REUSE_PORT_NOTE,
    description: `Limit the number of HTTP headers fields in a request.

This parameter is used to limit the number of headers in a request to prevent DDOS attack. Used
with the \`limit_request_field_size\` it allows more safety. By default this value is ${DEFAULT_LIMIT_REQUEST_FIELDS} and can't
be larger than ${MAX_HEADERS}: 0 or a larger value is accepted and used as ${MAX_HEADERS}, as Gunicorn does
(bunicorn warns at start for a larger one).`,
  }),
  defineSetting({
    name: "limit_request_field_size",
    section: "Security",
    cli: ["--limit-request-field_size"],
    meta: "INT",
    default: () => DEFAULT_LIMIT_REQUEST_FIELD_SIZE,
    validate: v.posInt,
    scope: "worker",
    support: "translated",
    bunNote: REUSE_PORT_NOTE,
    description: `Limit the allowed size of an HTTP request header field.

Value is a positive number or 0. Setting it to 0 will allow unlimited header field sizes.`,
  }),
  defineSetting({
    name: "limit_request_body",
    section: "Security",
    cli: ["--limit-request-body"],
    meta: "INT",
    default: () => DEFAULT_LIMIT_REQUEST_BODY,
    defaultDoc: `${DEFAULT_LIMIT_REQUEST_BODY} (128 MiB)`,
    validate: v.posInt,
    scope: "worker",
    support: "translated",
    bunNote:
      "New in bunicorn (Gunicorn has none; it was Bun.serve's fixed `maxRequestBodySize`). Honoured in every mode: Bun.serve's `maxRequestBodySize` in reuse-port mode, the engine's in shared-socket mode. Bun.serve's 413 has an empty body and is not in the access log (Bun answers it without running JavaScript); the engine's has a plain `Content Too Large` body and an access line.",
    description: `The largest request body accepted, in bytes.

A request whose \`Content-Length\` is larger gets a plain \`413\` before the app runs, and the
connection closes. A chunked body is counted as it arrives: once it passes the limit, the app's
body stream fails, the client gets a \`413\` if no response has started (else the connection is
cut), and the connection closes. 0 means no limit.`,
  }),
] as const;
