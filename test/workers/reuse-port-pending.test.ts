// src/workers/reuse-port-pending.ts on a real Bun.serve (in this process) with real clients: a
// response noted while it goes out is kept (and its connection's timer re-armed) while Bun is
// still sending it, and dropped once Bun is done, so nothing is held after the response; the
// re-arm's length keeps an idle connection open at least `keepalive` after a response ends.
// (That a long stream is never cut and idle connections still close, in every mode:
// test/parity/keep-alive.test.ts and streaming.test.ts.)
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PendingResponses, pendingTimeout } from "../../src/workers/reuse-port-pending.ts";
import { waitFor } from "../support/harness.ts";

const dir = mkdtempSync(join(tmpdir(), "bunicorn-pending-"));
const file = join(dir, "f.txt");
writeFileSync(file, "a file body\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("pendingTimeout: whole 4 s ticks, at least keepalive + 1 s and a tick before it runs out, at most 8 s over keepalive", () => {
  for (const keepalive of [0, 1, 2, 3, 4, 5, 8, 30, 75]) {
    const s = pendingTimeout(keepalive);
    // Fires on the (s / 4)-th 4 s tick after it is set: no sooner than s - 4 seconds, no later than s.
    expect({ keepalive, whole: s % 4, soonest: s - 4 >= keepalive + 1 && s - 4 >= 4, latest: s <= keepalive + 8 }).toEqual({ keepalive, whole: 0, soonest: true, latest: true });
  }
  expect(pendingTimeout(10_000)).toBe(252);
});

test("a response is kept while Bun sends it and dropped once it is out: a file at the first sweep, a 2 s stream after it ends", async () => {
  const pending = new PendingResponses(pendingTimeout(2));
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    development: false,
    fetch(req, srv) {
      let chunks = 0;
      const res =
        new URL(req.url).pathname === "/file"
          ? new Response(Bun.file(file))
          : new Response(
              new ReadableStream<Uint8Array>({
                async pull(c) {
                  await Bun.sleep(400);
                  if (chunks++ === 4) return c.close();
                  c.enqueue(new TextEncoder().encode("x"));
                },
              }),
            );
      pending.add(req, srv, res);
      return res;
    },
  });
  try {
    const t0 = performance.now();
    const stream = fetch(`http://127.0.0.1:${server.port}/stream`).then((r) => r.text());
    expect(await (await fetch(`http://127.0.0.1:${server.port}/file`)).text()).toBe("a file body\n");
    expect(pending.size).toBe(2);
    // After the first sweep (1 s after the first add): the file is out, the stream is not.
    await Bun.sleep(Math.max(0, 1300 - (performance.now() - t0)));
    expect(pending.size).toBe(1);
    expect(await stream).toBe("xxxx");
    await waitFor("the stream's entry to be dropped", () => pending.size === 0, 2500, 50);
  } finally {
    server.stop(true);
  }
});
