/**
 * @module
 * Gunicorn's HTTP parser limits, in one place with no imports, so the settings
 * (`limit_request_*` defaults and ranges), the HTTP parser and the arbiter's listening-mode
 * choice (a non-default limit needs bunicorn's own engine) read the same numbers without any of
 * them loading another's code.
 */

/** `limit_request_line`'s default: the longest request line, in bytes. */
export const DEFAULT_LIMIT_REQUEST_LINE = 4094;
/** `limit_request_fields`'s default: the most header fields in one request. */
export const DEFAULT_LIMIT_REQUEST_FIELDS = 100;
/** `limit_request_field_size`'s default (Gunicorn's `DEFAULT_MAX_HEADERFIELD_SIZE`). */
export const DEFAULT_LIMIT_REQUEST_FIELD_SIZE = 8190;

/** `limit_request_body`'s default, in bytes (128 MiB, Bun.serve's own default `maxRequestBodySize`). */
export const DEFAULT_LIMIT_REQUEST_BODY = 128 * 1024 * 1024;

/** Gunicorn's `MAX_REQUEST_LINE`: the largest `limit_request_line`. */
export const MAX_REQUEST_LINE = 8190;
/** Gunicorn's `MAX_HEADERS`: the largest `limit_request_fields`. */
export const MAX_HEADERS = 32768;
