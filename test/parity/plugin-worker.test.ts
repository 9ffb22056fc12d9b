// Shared behaviour suite: a plugin worker class that extends the exported default worker
// (examples/plugins/custom-worker.ts, `import { ProcessWorker } from "bunicorn/worker"`) keeps
// what the default worker does in every mode: TLS, Bun routes, WebSockets, keep-alive, and access
// lines with the bytes that went on the wire; its own `respond()` and `serve()` run in each
// worker (in each thread with gthread). A self-signed certificate for localhost and 127.0.0.1 is
// made at load time with openssl.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, waitFor } from "../support/harness.ts";
import { forEachMode, type Served } from "./modes.ts";

const CERT_DIR = mkdtempSync(join(tmpdir(), "bunicorn-plugin-tls-"));
const openssl = Bun.spawnSync(
  ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
  { cwd: CERT_DIR, stdout: "pipe", stderr: "pipe", timeout: 20_000 },
);
if (openssl.exitCode !== 0) throw new Error(`openssl: ${openssl.stderr.toString()}`);
const CA = readFileSync(join(CERT_DIR, "cert.pem"), "utf8");
afterAll(() => rmSync(CERT_DIR, { recursive: true, force: true }));

const WORKER = `${ROOT}/examples/plugins/custom-worker.ts#StampingWorker`;
const APP = `${ROOT}/test/parity/fixtures/routes-ws-app.ts`;

function origin(s: Served, scheme: "https" | "wss"): string {
  return s.socketPath ? `${scheme}+unix://${s.socketPath}:` : `${scheme}://127.0.0.1:${s.port}`;
}

function httpsGet(s: Served, path: string): Promise<Response> {
  const url = (s.socketPath ? "https://localhost" : `https://127.0.0.1:${s.port}`) + path;
  return fetch(url, { tls: { ca: CA }, signal: AbortSignal.timeout(10_000), ...(s.socketPath ? { unix: s.socketPath } : {}) } as RequestInit);
}

forEachMode(
  "a worker class extending bunicorn/worker's ProcessWorker, over TLS",
  {
    app: APP,
    args: ["-k", WORKER, "--certfile", join(CERT_DIR, "cert.pem"), "--keyfile", join(CERT_DIR, "key.pem"), "--access-logfile", "LOG", "--access-logformat", '%(s)s %(b)s "%(r)s" %({x-worker}o)s'],
  },
  (srv, mode) => {
    test("its serve() ran after the default worker's, in each worker or thread", async () => {
      const s = srv();
      const lines = await waitFor("the plugin's serve() line", () => {
        const found = s.b.output().match(/StampingWorker 1 serving \S+/g) ?? [];
        return found.length >= (mode.gthread ? 2 : 1) ? found : null;
      });
      expect(lines[0]).toContain(s.socketPath ? `unix:${s.socketPath}` : `127.0.0.1:${s.port}`);
    });

    test("a Bun route through respond(): the app's answer with the worker's header, its bytes in the access line", async () => {
      const s = srv();
      const before = s.accessLines().length;
      const res = await httpsGet(s, "/hello");
      expect(res.status).toBe(200);
      expect(res.headers.get("x-worker")).toBe("stamping/1");
      expect(await res.text()).toBe("page hello");
      const lines = await s.waitAccessLines(before + 1);
      expect(lines[before]).toBe('200 10 "GET /hello HTTP/1.1" stamping/1');
    });

    test("a request the worker answers itself (respond() without next()) is counted and logged alike", async () => {
      const s = srv();
      const before = s.accessLines().length;
      const res = await httpsGet(s, "/-/worker");
      const body = await res.text();
      expect(res.status).toBe(200);
      expect(JSON.parse(body)).toMatchObject({ age: 1, pid: expect.any(Number), served: expect.any(Number) });
      const lines = await s.waitAccessLines(before + 1);
      expect(lines[before]).toBe(`200 ${Buffer.byteLength(body)} "GET /-/worker HTTP/1.1" -`);
    });

    test("a WebSocket over TLS through a route that upgrades: open, echo, a 101 access line", async () => {
      const s = srv();
      const before = s.accessLines().length;
      const ws = new WebSocket(`${origin(s, "wss")}/chat/lobby`, { tls: { ca: CA } } as unknown as string[]);
      const messages: string[] = [];
      ws.onmessage = (e) => {
        messages.push(String(e.data));
        if (messages.length === 1) ws.send("over tls");
      };
      try {
        await waitFor("two messages", () => messages.length >= 2, 10_000, 10);
      } finally {
        ws.close();
      }
      expect(JSON.parse(messages[0]!)).toEqual({ room: "lobby", via: "route" });
      expect(messages[1]).toBe("over tls");
      const lines = await s.waitAccessLines(before + 1);
      expect(lines[before]).toMatch(/^101 0 "GET \/chat\/lobby HTTP\/1\.1" /);
    });
  },
);
