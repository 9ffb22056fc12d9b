// Shared behaviour suite: long responses are never cut by the keep-alive idle timer, in every
// mode. With --keep-alive 0 (every response closes its connection) a server-sent-events stream
// with 1 s between events arrives whole, whether the app returns it in a promise or at once, and
// a handler that takes 1.5 s answers; so does the handler with --keep-alive 1. (The stream with
// the default settings: keep-alive.test.ts.)
import { expect, test } from "bun:test";
import { ROOT } from "../support/harness.ts";
import { forEachMode, type Served } from "./modes.ts";

/** app.ts, plus `/sync/*` routes whose Response exists when `fetch` returns. */
const SYNC_APP = `${ROOT}/test/parity/fixtures/sync-app.ts`;

const SSE_BODY = [0, 1, 2, 3, 4].map((i) => `data: ${i}\n\n`).join("");

/** GET /sse?n=5&ms=1000: the whole stream, and how long it took. */
async function sse(s: Served, path = "/sse"): Promise<{ status: number; body: string; seconds: number }> {
  const t0 = performance.now();
  const res = await s.fetch(`${path}?n=5&ms=1000`, { timeoutMs: 15_000 });
  const body = await res.text();
  return { status: res.status, body, seconds: (performance.now() - t0) / 1000 };
}

async function slow(s: Served): Promise<{ status: number; body: string }> {
  const res = await s.fetch("/slow?ms=1500", { timeoutMs: 10_000 });
  return { status: res.status, body: await res.text() };
}

forEachMode("streaming, --keep-alive 0", { app: SYNC_APP, args: ["--keep-alive", "0"] }, (srv) => {
  test.concurrent(
    "an SSE stream of 5 events 1 s apart arrives whole",
    async () => {
      const r = await sse(srv());
      expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: SSE_BODY });
      expect(r.seconds).toBeGreaterThan(3.9);
    },
    20_000,
  );
  test.concurrent(
    "an SSE stream the app returns at once (no promise) arrives whole",
    async () => {
      const r = await sse(srv(), "/sync/sse");
      expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: SSE_BODY });
      expect(r.seconds).toBeGreaterThan(3.9);
    },
    20_000,
  );
  test.concurrent(
    "a 1.5 s handler answers, and the connection closes after it",
    async () => {
      const c = await srv().connect();
      c.write("GET /slow?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n");
      const text = await c.waitClosed(10_000);
      expect(text.startsWith("HTTP/1.1 200 ")).toBe(true);
      expect(text.toLowerCase()).toContain("connection: close");
      expect(text.endsWith("slow done")).toBe(true);
    },
    20_000,
  );
});

forEachMode("streaming, --keep-alive 1", { args: ["--keep-alive", "1"] }, (srv) => {
  test.concurrent(
    "a 1.5 s handler answers",
    async () => {
      expect(await slow(srv())).toEqual({ status: 200, body: "slow done" });
    },
    20_000,
  );
});
