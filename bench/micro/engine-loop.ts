/**
 * The shared-socket engine's JavaScript per request, without the network: one `Conn` of a real
 * engine (`serveHttp` on a unix socket in a temp dir) is given a stand-in socket whose `write`
 * takes everything, and is fed the bytes of wrk's requests; the app (bench/apps/hello.ts)
 * answers synchronously, so each `onData` is one whole exchange. What this prices is what the
 * engine adds to Bun's own socket work (the `data` callback and the send, which Bun.serve pays too).
 *
 *   npx bun bench/micro/engine-loop.ts [dir-of-a-bunicorn-tree]
 *
 * Prints the process's CPU time (user + system, so GC threads count) per request, in µs (median of 7 batches) for: GET / keep-alive, GET / with
 * `Connection: close` (the Request and response only; the accept is Bun's), and POST /echo 64 KiB
 * (the head and body in one chunk, then in two chunks as they usually arrive).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = process.argv[2] ?? join(import.meta.dir, "../..");
const app = (await import(join(root, "bench/apps/hello.ts"))).default;
const { serveHttp } = await import(join(root, "src/http/index.ts"));
const { Conn } = await import(join(root, "src/http/engine.ts"));

const dir = mkdtempSync(join(tmpdir(), "engine-loop-"));
const engine = serveHttp({ unix: join(dir, "s.sock") }, { fetch: (req: Request, s: unknown) => app.fetch(req, s), keepalive: 2 });

let written = 0;
const socket = {
  data: null as unknown,
  remoteAddress: "127.0.0.1",
  remotePort: 40000,
  localAddress: "127.0.0.1",
  localPort: 8000,
  write(d: Uint8Array, o?: number, l?: number): number {
    const n = l ?? d.length - (o ?? 0);
    written += n;
    return n;
  },
  end() {},
  terminate() {},
  pause() {},
  resume() {},
};

function newConn() {
  const c = new Conn(engine, socket);
  (engine as unknown as { connOpened(c: unknown): void }).connOpened(c);
  return c;
}

const get = Buffer.from("GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n");
const getClose = Buffer.from("GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nConnection: close\r\n\r\n");
const postHead = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nContent-Length: 65536\r\nContent-Type: application/octet-stream\r\n\r\n";
const post = Buffer.concat([Buffer.from(postHead), Buffer.alloc(65536, "x")]);
const postA = post.subarray(0, 65483);
const postB = post.subarray(65483);

async function run(name: string, n: number, once: () => void): Promise<void> {
  for (let i = 0; i < n / 5; i++) once();
  await Bun.sleep(0);
  const t: number[] = [];
  for (let b = 0; b < 7; b++) {
    const s = process.cpuUsage();
    for (let i = 0; i < n; i++) once();
    const d = process.cpuUsage(s);
    t.push((d.user + d.system) / n);
    await Bun.sleep(0); // promise jobs (the echo app's) and timers run between batches
  }
  t.sort((a, b) => a - b);
  console.log(`${name.padEnd(40)} ${t[3]!.toFixed(2)} µs/request`);
}

const ka = newConn();
await run("GET / keep-alive", 50000, () => ka.onData(Buffer.from(get)));
await run("GET / Connection: close (new Conn)", 30000, () => {
  const c = newConn();
  c.onData(Buffer.from(getClose));
  c.onClose();
});
// The echo app answers after a promise: each request waits for its response's write.
let wrote: (() => void) | null = null;
const write0 = socket.write;
socket.write = function (d: Uint8Array, o?: number, l?: number): number {
  const w = wrote;
  wrote = null;
  if (w !== null) w();
  return write0.call(this, d, o, l);
};
async function runAsync(name: string, n: number, once: () => void): Promise<void> {
  const one = () => new Promise<void>((resolve) => { wrote = resolve; once(); });
  for (let i = 0; i < n / 5; i++) await one();
  const t: number[] = [];
  for (let b = 0; b < 7; b++) {
    const s = process.cpuUsage();
    for (let i = 0; i < n; i++) await one();
    const d = process.cpuUsage(s);
    t.push((d.user + d.system) / n);
  }
  t.sort((a, b) => a - b);
  console.log(`${name.padEnd(40)} ${t[3]!.toFixed(2)} µs/request`);
}
const pc = newConn();
await runAsync("POST /echo 64 KiB, one chunk", 2000, () => pc.onData(Buffer.from(post)));
const pc2 = newConn();
await runAsync("POST /echo 64 KiB, two chunks", 2000, () => {
  pc2.onData(Buffer.from(postA));
  pc2.onData(Buffer.from(postB));
});
console.log(`(${(written / 1e6).toFixed(0)} MB written)`);
await engine.stop(false);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
