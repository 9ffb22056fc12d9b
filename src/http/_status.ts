/**
 * Status lines, the cached `Date` header and plain error responses.
 * Internal to the engine.
 * @module
 */

/** Standard reason phrases (RFC 9110 plus common extras). */
export const STATUS_TEXT: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  102: "Processing",
  103: "Early Hints",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  207: "Multi-Status",
  208: "Already Reported",
  226: "IM Used",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  305: "Use Proxy",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  418: "I'm a Teapot",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  423: "Locked",
  424: "Failed Dependency",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  506: "Variant Also Negotiates",
  507: "Insufficient Storage",
  508: "Loop Detected",
  510: "Not Extended",
  511: "Network Authentication Required",
};

const statusLineCache: string[] = [];

/** `HTTP/1.1 <status> <reason>\r\n`, cached for standard reasons. */
export function statusLine(status: number, statusText: string): string {
  if (statusText === "") {
    const cached = statusLineCache[status];
    if (cached !== undefined) return cached;
    const line = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
    if (status >= 100 && status <= 999) statusLineCache[status] = line;
    return line;
  }
  // Reason phrases must not contain CR/LF; Response already restricts statusText, be defensive anyway.
  return `HTTP/1.1 ${status} ${statusText.replace(/[\r\n]/g, " ")}\r\n`;
}

/** Coarse clock shared by all engines in the process: the `Date` header line, refreshed every second. */
export const clock = {
  /** `Date: <IMF-fixdate>\r\n` */
  dateLine: `Date: ${new Date().toUTCString()}\r\n`,
  users: 0,
  timer: null as ReturnType<typeof setInterval> | null,
};

function tick(): void {
  clock.dateLine = `Date: ${new Date().toUTCString()}\r\n`;
}

/** Starts the shared date ticker (reference counted). */
export function acquireClock(): void {
  if (clock.users++ === 0) {
    tick();
    const t = setInterval(tick, 1000);
    t.unref();
    clock.timer = t;
  }
}

/** Stops the shared date ticker when the last engine stops. */
export function releaseClock(): void {
  if (--clock.users === 0 && clock.timer !== null) {
    clearInterval(clock.timer);
    clock.timer = null;
  }
}

/**
 * A complete plain-text response (`body` must be ASCII). `connection` is the
 * Connection header value to send, or "" for none.
 */
export function plainResponse(status: number, body: string, connection: "" | "close" | "keep-alive"): string {
  const reason = STATUS_TEXT[status] ?? "Error";
  return (
    `HTTP/1.1 ${status} ${reason}\r\n` +
    (connection === "" ? "" : `Connection: ${connection}\r\n`) +
    "Content-Type: text/plain; charset=utf-8\r\n" +
    `Content-Length: ${body.length}\r\n` +
    clock.dateLine +
    "\r\n" +
    body
  );
}
