// Shared behaviour suite: keep-alive with the default settings (--keep-alive 2), in every mode.
// A connection in use is never cut, however the server's idle timer ticks; an idle one is
// closed by the server no sooner than `keepalive` and no later than `keepalive` plus the
// documented slack (docs/design.md, "Keep-alive": reuse-port mode closes on Bun's 4-second timer
// tick, at most 8 s late; the engine sweeps every second), also after a stream, a file or a Blob
// the app returned at once (reuse-port mode sees no end of those: src/workers/reuse-port-pending.ts).
// A server-sent-events stream with 1 s between events is not cut either, nor a stream the app
// returned at once that pauses for longer than the idle timer. The cases run side by side on the
// mode's one server.
import { expect, test } from "bun:test";
import { connect } from "node:net";
import { ROOT, waitFor } from "../support/harness.ts";
import { parseAll } from "../support/http-client.ts";
import { BIG_FILE_BYTES } from "./fixtures/sync-app.ts";
import { forEachMode } from "./modes.ts";

/** app.ts, plus `/sync/*` routes whose Response exists when `fetch` returns. */
const SYNC_APP = `${ROOT}/test/parity/fixtures/sync-app.ts`;
const KEEPALIVE_S = 2;
/** The most an idle connection may outlive `keepalive`, in any mode. */
const SLACK_S = 8;
/** Leeway for a loaded machine on top of that. */
const LEEWAY_S = 1.5;

forEachMode("keep-alive and streaming, default settings", { app: SYNC_APP }, (srv, mode) => {
  test.concurrent(
    "a connection sending a request every 0.7 s for 9 s loses none",
    async () => {
      const c = await srv().connect();
      const n = 13;
      for (let i = 0; i < n; i++) {
        if (i > 0) await Bun.sleep(700);
        expect({ request: i, closed: c.closed }).toEqual({ request: i, closed: false });
        c.write(`GET /?busy=${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
        await c.until((t) => parseAll(t).length === i + 1, 3000);
      }
      expect(parseAll(c.text).map((r) => `${r.status} ${r.body}`)).toEqual(Array(n).fill("200 hello"));
      expect(c.closed).toBe(false);
      c.end();
    },
    20_000,
  );

  test.concurrent(
    "an idle connection is closed by the server after keepalive, within the slack",
    async () => {
      const c = await srv().connect();
      c.write("GET /?idle HTTP/1.1\r\nHost: x\r\n\r\n");
      await c.until((t) => parseAll(t).length === 1);
      const t0 = performance.now();
      await c.waitClosed((KEEPALIVE_S + SLACK_S + LEEWAY_S) * 1000);
      const idle = (performance.now() - t0) / 1000;
      expect(idle).toBeGreaterThan(KEEPALIVE_S - 0.2);
      expect(idle).toBeLessThan(KEEPALIVE_S + SLACK_S + LEEWAY_S);
    },
    20_000,
  );

  test.concurrent(
    "after a stream, a file and a Blob the app returns at once, each idle connection is closed after keepalive, within the slack",
    async () => {
      const idleAfter = async (path: string): Promise<{ path: string; response: number; idle: number }> => {
        const c = await srv().connect();
        c.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        await c.until((t) => parseAll(t).length === 1, 5000);
        const t0 = performance.now();
        await c.waitClosed((KEEPALIVE_S + SLACK_S + LEEWAY_S) * 1000);
        return { path, response: parseAll(c.text)[0]!.status, idle: (performance.now() - t0) / 1000 };
      };
      const seen = await Promise.all(["/sync/sse?n=2&ms=300", "/sync/file", "/sync/blob"].map(idleAfter));
      for (const r of seen) {
        expect({ path: r.path, response: r.response, soon: r.idle < KEEPALIVE_S - 0.2, late: r.idle > KEEPALIVE_S + SLACK_S + LEEWAY_S }).toEqual({
          path: r.path,
          response: 200,
          soon: false,
          late: false,
        });
      }
    },
    20_000,
  );

  test.concurrent(
    mode.listen === "reuse-port"
      ? "a client that stops reading a 16 MiB file is cut by Bun's idle timer (4-8 s; README's mode table)"
      : "a client that stops reading a 16 MiB file for 9.5 s still gets all of it (the engine cuts after 60 s without progress)",
    async () => {
      const s = srv();
      const sock = s.mode.unix ? connect({ path: s.socketPath }) : connect({ port: s.port, host: "127.0.0.1" });
      sock.pause();
      let bytes = 0;
      let closed = false;
      sock.on("data", (d: Buffer) => (bytes += d.length));
      sock.on("close", () => (closed = true));
      sock.on("error", () => {});
      sock.write("GET /sync/big-file HTTP/1.1\r\nHost: x\r\n\r\n");
      await Bun.sleep(9500);
      sock.resume();
      try {
        await waitFor("the whole body or a close", () => closed || bytes > BIG_FILE_BYTES, 10_000, 20);
        if (mode.listen === "reuse-port") expect({ closed, whole: bytes > BIG_FILE_BYTES }).toEqual({ closed: true, whole: false });
        else expect({ closed, whole: bytes > BIG_FILE_BYTES }).toEqual({ closed: false, whole: true });
      } finally {
        sock.destroy();
      }
    },
    25_000,
  );

  test.concurrent(
    "a slice of a file the app returns at once goes out as a 200 with the slice's bytes",
    async () => {
      const res = await srv().fetch("/sync/slice");
      const want = (await Bun.file(new URL("./fixtures/static.txt", import.meta.url).pathname).text()).slice(2, 9);
      expect({ status: res.status, range: res.headers.get("content-range"), body: await res.text() }).toEqual({ status: 200, range: null, body: want });
    },
    20_000,
  );

  test.concurrent(
    "a stream the app returns at once, silent for 8.5 s before its end, arrives whole (a pause longer than the idle timer)",
    async () => {
      const t0 = performance.now();
      const res = await srv().fetch("/sync/sse?n=1&ms=8500", { timeoutMs: 15_000 });
      const body = await res.text();
      expect({ status: res.status, body }).toEqual({ status: 200, body: "data: 0\n\n" });
      expect((performance.now() - t0) / 1000).toBeGreaterThan(8.4);
    },
    20_000,
  );

  test.concurrent(
    "an SSE stream of 5 events 1 s apart arrives whole",
    async () => {
      const t0 = performance.now();
      const res = await srv().fetch("/sse?n=5&ms=1000", { timeoutMs: 15_000 });
      const body = await res.text();
      expect({ status: res.status, body }).toEqual({ status: 200, body: [0, 1, 2, 3, 4].map((i) => `data: ${i}\n\n`).join("") });
      expect((performance.now() - t0) / 1000).toBeGreaterThan(3.9);
    },
    20_000,
  );
});
