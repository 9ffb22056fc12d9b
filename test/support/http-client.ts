// Raw-socket test client: every wait is bounded.
import { openRawSocket } from "./raw-socket.ts";

export interface RawConn {
  /** Everything received so far (latin-1). */
  readonly text: string;
  readonly closed: boolean;
  write(data: string | Uint8Array): void;
  /** Resolves with all received text once `pred` holds; rejects after `ms`. */
  until(pred: (text: string) => boolean, ms?: number): Promise<string>;
  /** Resolves once the server closed the connection; rejects after `ms`. */
  waitClosed(ms?: number): Promise<string>;
  end(): void;
}

export async function connect(target: number | { unix: string }): Promise<RawConn> {
  let text = "";
  const raw = await openRawSocket(target, (d) => (text += d.toString("latin1")), () => `received so far: ${JSON.stringify(text)}`);
  const sock = raw.sock;
  const wait = async (pred: () => boolean, ms: number, what: string) => {
    await raw.wait(pred, ms, what);
    return text;
  };
  return {
    get text() {
      return text;
    },
    get closed() {
      return raw.closed;
    },
    write(data) {
      sock.write(data);
    },
    until(pred, ms = 3000) {
      return wait(() => pred(text), ms, "data");
    },
    waitClosed(ms = 3000) {
      return wait(() => raw.closed, ms, "close");
    },
    end() {
      sock.end();
    },
  };
}

/** Number of complete-looking status lines in `text`. */
export function countResponses(text: string): number {
  return text.match(/HTTP\/1\.1 \d{3} /g)?.length ?? 0;
}

export interface ParsedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  rest: string;
}

/** Parses one response (Content-Length, chunked or close-delimited) from the start of `text`; null if incomplete. */
export function parseResponse(text: string, closed = false): ParsedResponse | null {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = text.slice(0, end).split("\r\n");
  const status = Number(lines[0]!.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  let pos = end + 4;
  if (status === 100) return { status, headers, body: "", rest: text.slice(pos) };
  if (headers["transfer-encoding"] === "chunked") {
    let body = "";
    for (;;) {
      const le = text.indexOf("\r\n", pos);
      if (le < 0) return null;
      const size = parseInt(text.slice(pos, le), 16);
      if (text.length < le + 2 + size + 2) return null;
      if (size === 0) return { status, headers, body, rest: text.slice(le + 4) };
      body += text.slice(le + 2, le + 2 + size);
      pos = le + 2 + size + 2;
    }
  }
  if (headers["content-length"] !== undefined) {
    const n = Number(headers["content-length"]);
    if (text.length < pos + n) return null;
    return { status, headers, body: text.slice(pos, pos + n), rest: text.slice(pos + n) };
  }
  if (!closed) return null;
  return { status, headers, body: text.slice(pos), rest: "" };
}

/** Parses all complete responses in `text`. */
export function parseAll(text: string, closed = false): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let t = text;
  for (;;) {
    const r = parseResponse(t, closed);
    if (r === null) return out;
    out.push(r);
    if (r.rest === "" || r.rest === t) return out;
    t = r.rest;
  }
}
