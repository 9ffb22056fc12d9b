/**
 * Typed HTTP/1 protocol errors raised by bunicorn's own HTTP/1.1 engine.
 *
 * Every class carries the HTTP status the engine answers with. The names
 * follow Gunicorn's `gunicorn/http/errors.py` vocabulary so that log lines and
 * tests read the same. Messages never echo raw client bytes.
 *
 * Status choices (Gunicorn's sync worker behaviour where it has one):
 * - malformed request line, method, version, headers, framing: 400
 * - request line longer than `limitRequestLine`: **400** (Gunicorn's
 *   `LimitRequestLine` answer; 414 would also be defensible)
 * - too many header fields or a field longer than `limitRequestFieldSize`: 431
 * - unknown transfer coding: 501
 * - a well-formed version other than HTTP/1.0 or HTTP/1.1: 505
 * - an `Expect` other than `100-continue`: 417
 * - a body larger than `maxRequestBodySize`: 413
 * - a body that pauses longer than `bodyTimeout` or arrives slower than `bodyMinRate`: 408
 * - a malformed PROXY protocol header: 400; a PROXY header from a peer not in
 *   `proxy_allow_ips`: 403
 *
 * @module
 */

/** Base class of every protocol error. `status` is the HTTP status sent back. */
export class HttpError extends Error {
  /** HTTP status code answered to the client. */
  readonly status: number;
  /** Standard reason phrase for {@link status}. */
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.name = new.target.name;
  }
}

/** The request line is not `method SP target SP version` or the target is invalid (400). */
export class InvalidRequestLine extends HttpError {
  constructor(message = "Invalid request line") {
    super(400, "Bad Request", message);
  }
}

/** The method is not a token, or (unless permitted) is unconventional (400). */
export class InvalidRequestMethod extends HttpError {
  constructor(message = "Invalid request method") {
    super(400, "Bad Request", message);
  }
}

/** The version is not `HTTP/<digit>.<digit>` (400). */
export class InvalidHTTPVersion extends HttpError {
  constructor(message = "Invalid HTTP version") {
    super(400, "Bad Request", message);
  }
}

/** A well-formed version other than HTTP/1.0 and HTTP/1.1 (505). */
export class UnsupportedHTTPVersion extends HttpError {
  constructor(message = "HTTP version not supported") {
    super(505, "HTTP Version Not Supported", message);
  }
}

/** The request line exceeds `limitRequestLine` (400, as Gunicorn answers). */
export class LimitRequestLine extends HttpError {
  constructor(message = "Request line too long") {
    super(400, "Bad Request", message);
  }
}

/** Too many header fields, or a field exceeds `limitRequestFieldSize` (431). */
export class LimitRequestHeaders extends HttpError {
  constructor(message = "Request header fields too large") {
    super(431, "Request Header Fields Too Large", message);
  }
}

/** A malformed header line or value, or invalid framing headers (400). */
export class InvalidHeader extends HttpError {
  constructor(message = "Invalid header") {
    super(400, "Bad Request", message);
  }
}

/** A header name that is not an RFC 9110 token (400). */
export class InvalidHeaderName extends HttpError {
  constructor(message = "Invalid header name") {
    super(400, "Bad Request", message);
  }
}

/** An obs-fold continuation line while `permitObsoleteFolding` is off (400). */
export class ObsoleteFolding extends HttpError {
  constructor(message = "Obsolete line folding is not allowed") {
    super(400, "Bad Request", message);
  }
}

/** A transfer coding the engine does not implement (501). */
export class UnsupportedTransferCoding extends HttpError {
  constructor(message = "Unsupported transfer coding") {
    super(501, "Not Implemented", message);
  }
}

/** An `Expect` header other than `100-continue` (417). */
export class ExpectationFailed extends HttpError {
  constructor(message = "Expectation failed") {
    super(417, "Expectation Failed", message);
  }
}

/** A chunk-size line that is not 1*HEXDIG, or too large (400). */
export class InvalidChunkSize extends HttpError {
  constructor(message = "Invalid chunk size") {
    super(400, "Bad Request", message);
  }
}

/** Chunk data not followed by CRLF (400). */
export class ChunkMissingTerminator extends HttpError {
  constructor(message = "Chunk missing terminator") {
    super(400, "Bad Request", message);
  }
}

/** A bare CR or another control byte in a chunk extension (400). */
export class InvalidChunkExtension extends HttpError {
  constructor(message = "Invalid chunk extension") {
    super(400, "Bad Request", message);
  }
}

/** A forbidden field (Host, Content-Length, …) or malformed line in a chunked trailer (400). */
export class InvalidTrailer extends HttpError {
  constructor(message = "Invalid trailer field") {
    super(400, "Bad Request", message);
  }
}

/** The request body exceeds `maxRequestBodySize` (413). */
export class RequestBodyTooLarge extends HttpError {
  constructor(message = "Request body too large") {
    super(413, "Content Too Large", message);
  }
}

/** A request body that paused too long or arrived too slowly (`body_timeout`, `body_min_rate`): 408, and the connection closes. */
export class RequestTimeout extends HttpError {
  constructor(message = "Request body timed out") {
    super(408, "Request Timeout", message);
  }
}

/** A malformed PROXY protocol v1 line (400). */
export class InvalidProxyLine extends HttpError {
  constructor(message = "Invalid PROXY line") {
    super(400, "Bad Request", message);
  }
}

/** A malformed PROXY protocol v2 header, or a connection without the header the mode requires (400). */
export class InvalidProxyHeader extends HttpError {
  constructor(message = "Invalid PROXY header") {
    super(400, "Bad Request", message);
  }
}

/** A PROXY header from a peer that is not in `proxy_allow_ips` (403). */
export class ForbiddenProxyRequest extends HttpError {
  constructor(message = "PROXY header from a peer that is not allowed") {
    super(403, "Forbidden", message);
  }
}
