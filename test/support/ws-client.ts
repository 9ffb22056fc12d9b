// WebSocket test clients: Bun's own `WebSocket` (over TCP or, with `ws+unix://`, a unix socket)
// with bounded waits, and a raw-socket client that writes hand-made frames and reads the server's
// frames, for protocol errors. Every wait is bounded.
import { openRawSocket } from "./raw-socket.ts";
import type { Socket } from "bun";

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** A client frame: masked unless `mask: false`; `len64` forces the 64-bit length form. */
export function clientFrame(opcode: number, payload: Uint8Array | string, o: { fin?: boolean; mask?: boolean; rsv?: number; len64?: boolean } = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
  const { fin = true, mask = true, rsv = 0, len64 = false } = o;
  const n = data.length;
  const m = mask ? 0x80 : 0;
  const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  if (len64 || n > 65535) head.push(m | 127, 0, 0, 0, 0, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  else if (n > 125) head.push(m | 126, n >> 8, n & 255);
  else head.push(m | n);
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = [0x37, 0xfa, 0x21, 0x3d];
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), Buffer.from(key), body]);
}

/** A close frame payload: the code and a UTF-8 reason. */
export function closePayload(code: number, reason = ""): Buffer {
  const r = Buffer.from(reason, "utf8");
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

/** Reads the server's frames (unmasked) from `buf`; returns them and the bytes left over. */
export function parseFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let pos = 0;
  for (;;) {
    if (buf.length - pos < 2) break;
    const b0 = buf[pos]!;
    const b1 = buf[pos + 1]!;
    let len = b1 & 0x7f;
    let p = pos + 2;
    if (len === 126) {
      if (buf.length - p < 2) break;
      len = buf.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      if (buf.length - p < 8) break;
      len = Number(buf.readBigUInt64BE(p));
      p += 8;
    }
    if (b1 & 0x80) p += 4;
    if (buf.length - p < len) break;
    frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload: buf.subarray(p, p + len) });
    pos = p + len;
  }
  return { frames, rest: buf.subarray(pos) };
}

export interface RawWebSocket {
  /** The response head (status line and headers). */
  readonly head: string;
  readonly frames: Frame[];
  readonly closed: boolean;
  write(data: Uint8Array): void;
  /** Resolves with the frames once `pred` holds; rejects after `ms`. */
  until(pred: (frames: Frame[]) => boolean, ms?: number): Promise<Frame[]>;
  waitClosed(ms?: number): Promise<void>;
  /** Stops (and restarts) reading from the socket, so the server sees backpressure. */
  pause(): void;
  resume(): void;
  end(): void;
}

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
/** The `Sec-WebSocket-Accept` for the raw client's key (RFC 6455's example). */
export const RAW_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** Opens a raw WebSocket: sends the handshake for `path`, resolves after the response head. */
export async function rawWebSocket(target: number | { unix: string }, path: string, extraHead = "", ms = 5000): Promise<RawWebSocket> {
  let head = "";
  let buf = Buffer.alloc(0);
  const frames: Frame[] = [];
  const raw = await openRawSocket(
    target,
    (d) => {
      buf = Buffer.concat([buf, d]);
      if (head === "") {
        const i = buf.indexOf("\r\n\r\n");
        if (i < 0) return;
        head = buf.subarray(0, i).toString("latin1");
        buf = buf.subarray(i + 4);
      }
      const r = parseFrames(buf);
      frames.push(...r.frames);
      buf = Buffer.from(r.rest);
    },
    () => `head ${JSON.stringify(head)}, frames ${JSON.stringify(frames.map((f) => [f.opcode, f.payload.length > 40 ? f.payload.length : f.payload.toString("latin1")]))}`,
  );
  const sock = raw.sock;
  sock.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${extraHead}\r\n`);
  const wait = raw.wait;
  await wait(() => head !== "" || raw.closed, ms, "the handshake response");
  return {
    get head() {
      return head;
    },
    frames,
    get closed() {
      return raw.closed;
    },
    write(data) {
      sock.write(data);
    },
    async until(pred, ms = 5000) {
      await wait(() => pred(frames), ms, "frames");
      return frames;
    },
    waitClosed: (ms = 5000) => wait(() => raw.closed, ms, "the connection to close"),
    pause: () => sock.pause(),
    resume: () => sock.resume(),
    end() {
      sock.end();
    },
  };
}

export interface WsClient {
  readonly ws: WebSocket;
  /** Messages received (text as strings, binary as Buffers). */
  readonly messages: (string | Buffer)[];
  /** Resolves with the first message (after `from`) matching `pred`; rejects after `ms`. */
  next(pred?: (m: string | Buffer) => boolean, ms?: number): Promise<string | Buffer>;
  /** Resolves with the close event's code and reason; rejects after `ms`. */
  closed(ms?: number): Promise<{ code: number; reason: string }>;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** Opens Bun's `WebSocket` client on `url` and waits for it to open. */
export async function wsClient(url: string, ms = 5000): Promise<WsClient> {
  const ws = new WebSocket(url);
  ws.binaryType = "nodebuffer" as WebSocket["binaryType"];
  const messages: (string | Buffer)[] = [];
  let closeEvent: { code: number; reason: string } | null = null;
  let consumed = 0;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  ws.onmessage = (e) => {
    messages.push(typeof e.data === "string" ? e.data : Buffer.from(e.data as Uint8Array));
    wake();
  };
  ws.onclose = (e) => {
    closeEvent = { code: e.code, reason: e.reason };
    wake();
  };
  const wait = <T>(get: () => T | undefined, ms: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const v = get();
        if (v !== undefined) {
          cleanup();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${ms} ms waiting for ${what} on ${url}; messages so far: ${JSON.stringify(messages.map((m) => (typeof m === "string" ? m.slice(0, 80) : `<${m.length} bytes>`)))}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out opening ${url}`)), ms);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve();
    };
    ws.onerror = (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot open ${url}: ${(e as ErrorEvent).message ?? "error"}`));
    };
  });
  return {
    ws,
    messages,
    next(pred = () => true, ms = 5000) {
      return wait(
        () => {
          for (let i = consumed; i < messages.length; i++) {
            if (pred(messages[i]!)) {
              consumed = i + 1;
              return messages[i]!;
            }
          }
          return undefined;
        },
        ms,
        "a message",
      );
    },
    closed: (ms = 5000) => wait(() => closeEvent ?? undefined, ms, "the close event"),
    send: (d) => ws.send(d),
    close: (code, reason) => ws.close(code, reason),
  };
}
