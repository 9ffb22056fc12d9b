/**
 * bunicorn's own HTTP/1.1 engine ("shared-socket mode"): public API.
 * @module
 */
export { serveHttp } from "./serve.ts";
export type { HttpEngine, HttpEngineOptions, HttpTarget, ResponseRecord } from "./types.ts";
export {
  HttpRequestParser,
  RequestHead,
  resolveParserOptions,
  MAX_REQUEST_LINE,
  MAX_HEADERS,
  DEFAULT_MAX_HEADERFIELD_SIZE,
  UNLIMITED_REQUEST_LINE_CAP,
} from "./parser.ts";
export type { HttpParserOptions, ResolvedParserOptions } from "./parser.ts";
export * from "./errors.ts";
export { parseProxyHeader, V1_MAX_LENGTH, V2_MAX_LENGTH, V2_SIGNATURE } from "./proxy-protocol.ts";
export type { ProxyMode, ProxyParseResult, ProxySource } from "./proxy-protocol.ts";
