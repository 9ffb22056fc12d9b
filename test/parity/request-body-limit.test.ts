// Shared behaviour suite: `limit_request_body` (bytes; 0 = no limit; default 128 MiB) in every
// mode. A Content-Length over it is a 413 before the app runs; a chunked body is counted as it
// arrives, and once past the limit the app's body stream fails and the client gets a 413 (no
// response had started); the connection closes either way. (The 413's body differs: Bun.serve
// sends none, the engine a plain "Content Too Large"; neither a stack trace.)
import { expect, test } from "bun:test";
import { ROOT } from "../support/harness.ts";
import { parseResponse } from "../support/http-client.ts";
import { forEachMode, type Served } from "./modes.ts";

const APP = `${ROOT}/test/parity/fixtures/abuse-app.ts`;
const PLAIN_413_BODIES = ["", "Content Too Large\n"];

/**
 * Sends `head` (and `parts`, 150 ms apart) on a fresh connection; the response and whether the
 * server closed the connection after it (waited for only with `waitClose`: Bun.serve keeps a
 * connection whose announced body has not arrived open after an answer).
 */
async function exchange(s: Served, head: string, parts: string[] = [], waitClose = true): Promise<{ status: number; body: string; closed: boolean }> {
  const c = await s.connect();
  c.write(head);
  for (const p of parts) {
    await Bun.sleep(150);
    if (c.closed) break;
    c.write(p);
  }
  const text = await c.until((t) => parseResponse(t, c.closed) !== null, 5000).catch(() => c.waitClosed(5000));
  const closed = await c.waitClosed(waitClose ? 5000 : 0).then(
    () => true,
    () => false,
  );
  const r = parseResponse(text, closed) ?? parseResponse(c.text, true);
  c.end();
  return { status: r?.status ?? 0, body: r?.body ?? "", closed };
}

const post = (path: string, headers: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;
const chunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;

forEachMode("limit_request_body 1000", { app: APP, args: ["--limit-request-body", "1000"] }, (srv) => {
  test("a Content-Length over the limit: a plain 413 before the app runs, and a close", async () => {
    const r = await exchange(srv(), post("/upload?id=cl", "Content-Length: 1001\r\n"), ["a".repeat(1001)]);
    expect({ status: r.status, closed: r.closed }).toEqual({ status: 413, closed: true });
    expect(PLAIN_413_BODIES).toContain(r.body);
  });

  test("bodies up to the limit, with Content-Length and chunked, reach the app whole", async () => {
    const s = srv();
    const cl = await s.fetch("/upload", { method: "POST", body: "b".repeat(1000) });
    expect(`${cl.status} ${await cl.text()}`).toBe("200 read 1000");
    const c = await s.connect();
    c.write(post("/upload", "Transfer-Encoding: chunked\r\n") + chunk("c".repeat(600)));
    await Bun.sleep(100);
    c.write(chunk("c".repeat(400)) + "0\r\n\r\n");
    const text = await c.until((t) => parseResponse(t) !== null);
    expect(parseResponse(text)!.body).toBe("read 1000");
    c.end();
  });

  test("a chunked body that passes the limit mid-stream: the app's body stream fails, the client gets a 413 and a close", async () => {
    const s = srv();
    const r = await exchange(s, post("/upload?id=chunked-over", "Transfer-Encoding: chunked\r\n") + chunk("d".repeat(500)), [chunk("d".repeat(500)), chunk("d".repeat(500)), "0\r\n\r\n"]);
    expect({ status: r.status, closed: r.closed }).toEqual({ status: 413, closed: true });
    expect(PLAIN_413_BODIES).toContain(r.body);
    await s.b.waitForLog(/upload chunked-over: body failed after \d+ bytes/, 5000);
    // The worker goes on serving.
    const after = await s.fetch("/");
    expect(`${after.status} ${await after.text()}`).toBe("200 hello");
  });

  test("an app that lets the failed body's error propagate: a 413, and the client's fault is no ERROR line", async () => {
    const s = srv();
    const from = s.b.output().length;
    const r = await exchange(s, post("/upload-unguarded", "Transfer-Encoding: chunked\r\n") + chunk("e".repeat(500)), [chunk("e".repeat(500)), chunk("e".repeat(500)), "0\r\n\r\n"]);
    expect({ status: r.status, closed: r.closed }).toEqual({ status: 413, closed: true });
    const after = await s.fetch("/");
    expect(`${after.status} ${await after.text()}`).toBe("200 hello");
    await Bun.sleep(200);
    expect(s.b.output().slice(from).split("\n").filter((l) => l.includes("[ERROR]"))).toEqual([]);
  });
});

forEachMode("limit_request_body by default (128 MiB)", { app: APP }, (srv) => {
  test("a Content-Length of 128 MiB is accepted, one byte more is a 413", async () => {
    const s = srv();
    // /peek answers without reading the body; only the head is sent.
    const at = await exchange(s, post("/peek", `Content-Length: ${128 * 1024 * 1024}\r\n`), [], false);
    expect({ status: at.status, body: at.body }).toEqual({ status: 200, body: "peeked" });
    const over = await exchange(s, post("/peek", `Content-Length: ${128 * 1024 * 1024 + 1}\r\n`));
    expect({ status: over.status, closed: over.closed }).toEqual({ status: 413, closed: true });
  });
});

forEachMode("limit_request_body 0 (no limit)", { app: APP, args: ["--limit-request-body", "0"] }, (srv) => {
  test("a Content-Length of 10 GiB reaches the app; small bodies too", async () => {
    const s = srv();
    const huge = await exchange(s, post("/peek", `Content-Length: ${10 * 1024 * 1024 * 1024}\r\n`), [], false);
    expect({ status: huge.status, body: huge.body }).toEqual({ status: 200, body: "peeked" });
    const small = await s.fetch("/upload", { method: "POST", body: "e".repeat(10) });
    expect(`${small.status} ${await small.text()}`).toBe("200 read 10");
  });
});
