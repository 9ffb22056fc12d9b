// The Node worker (plugins/node) with handlers that are not Express, in reuse-port mode and on
// a unix socket: an http.createServer-style listener (loaded by its egg: name,
// egg:bunicorn-node#node, resolved from bunicorn's own plugins/) and a Koa-like callback. Bodies
// read with req.on('data'), writeHead with a header array, response backpressure ('drain'),
// a handler that throws or rejects (bunicorn's 500 and an ERROR line; the worker keeps serving),
// one that fails after its head (the body is cut, an ERROR line), and a handler that blocks the
// event loop (WORKER TIMEOUT; a new worker serves). And examples/express.ts as its comment runs it.
import { afterAll, expect, test } from "bun:test";
import { freePort, get, killAll, ROOT, startBunicorn, waitFor } from "../support/harness.ts";
import { forEachMode, MODES } from "./modes.ts";

const HANDLERS = `${ROOT}/test/parity/fixtures/node-handlers.ts`;
const TWO_MODES = MODES.filter((m) => m.name === "reuse-port" || m.name === "unix");

forEachMode(
  "a plain (req, res) handler through -k egg:bunicorn-node#node",
  { app: `${HANDLERS}:plain`, args: ["-k", "egg:bunicorn-node#node", "--access-logfile", "LOG", "--timeout", "1"] },
  (srv, mode) => {
    test("the worker class comes from plugins/node by its egg: name", () => {
      expect(srv().b.output()).toContain("Using worker: egg:bunicorn-node#node");
    });

    test("a 1 MiB body read with req.on('data') comes back whole", async () => {
      const body = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
      const res = await srv().fetch("/echo", { method: "PUT", body });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-received")).toBe(String(body.length));
      expect(res.headers.get("x-method")).toBe("PUT");
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(body);
    });

    test("writeHead(status, reason, [name, value, ...]): repeated names and the request's headers", async () => {
      const res = await srv().fetch("/headers", { headers: { "x-one": "1", "x-two": "2" } });
      expect(res.status).toBe(202);
      expect(res.headers.get("x-multi")).toBe("1, 2");
      expect(res.headers.get("x-set")).toBe("early");
      const seen = (await res.json()) as Record<string, string>;
      expect(seen["x-one"]).toBe("1");
      expect(seen["x-two"]).toBe("2");
    });

    test("the request line and the peer", async () => {
      const res = await srv().fetch("/peer?a=%20b");
      expect(await res.json()).toEqual({ remote: mode.unix ? null : "127.0.0.1", url: "/peer?a=%20b", httpVersion: "1.1" });
    });

    test("2 MiB written with backpressure: whole, and the handler waited for 'drain'", async () => {
      const res = await srv().fetch("/big");
      expect((await res.arrayBuffer()).byteLength).toBe(2 * 1024 * 1024);
      await srv().b.waitForLog(/big: waited for drain [1-9]\d* times/, 5000);
      // Its own line (other requests' lines may come first: the file is flushed every 50 ms).
      const line = await waitFor("the access line of GET /big", () => srv().accessLines().find((l) => l.includes('"GET /big ')), 5000);
      expect(line).toContain(` 200 ${2 * 1024 * 1024} `);
    });

    test("a handler that throws: bunicorn's 500 and an ERROR line; the worker keeps serving", async () => {
      const res = await srv().fetch("/throw");
      expect(res.status).toBe(500);
      expect(await res.text()).toBe("Internal Server Error");
      await srv().b.waitForLog(/\[ERROR\] Error handling request \/throw[\s\S]*plain handler failed/, 5000);
      const rejected = await srv().fetch("/reject");
      expect(rejected.status).toBe(500);
      await srv().b.waitForLog(/\[ERROR\] Error handling request \/reject[\s\S]*async handler rejected/, 5000);
      const ok = await srv().fetch("/hello");
      expect(await ok.text()).toBe("plain GET /hello");
    });

    test("a handler that fails after its head: the body is cut and the error logged", async () => {
      const res = await srv().fetch("/fail-mid-body");
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow();
      await srv().b.waitForLog(/\[ERROR\] Error handling request \/fail-mid-body[\s\S]*failed after the head/, 5000);
      expect((await srv().fetch("/hello")).status).toBe(200);
    });

    test("a client leaving before any answer: 'close' reaches the handler, and the request is no longer in flight", async () => {
      const s = srv();
      await expect(s.fetch("/wait", { timeoutMs: 300 })).rejects.toThrow();
      await s.b.waitForLog(/wait: the client left \(aborted: true, ended: false\)/, 5000);
      const res = await s.fetch("/hello");
      expect(res.status).toBe(200);
      await Bun.sleep(100);
      // A client's leaving, not a server fault (DEBUG). The exchange is over: one still in flight
      // would hold this block's graceful stop for graceful_timeout (30 s).
      expect(s.b.output()).not.toContain("[ERROR] Error handling request /wait");
    });

    test("a handler that blocks the event loop: WORKER TIMEOUT, and a new worker serves", async () => {
      const s = srv();
      const before = s.b.workers();
      void s.fetch("/spin", { timeoutMs: 8000, keepalive: false }).catch(() => {});
      await s.b.waitForLog(/WORKER TIMEOUT \(pid:\d+\)/, 8000);
      const res = await (async () => {
        for (let i = 0; i < 100; i++) {
          try {
            return await s.fetch("/after", { timeoutMs: 2000 });
          } catch {
            await Bun.sleep(50);
          }
        }
        throw new Error("no worker answered after the timeout");
      })();
      expect(await res.text()).toBe("plain GET /after");
      expect(s.b.workers()).not.toEqual(before);
    }, 20_000);
  },
  TWO_MODES,
);

forEachMode(
  "a Koa-like callback through -k node",
  { app: `${HANDLERS}:koa`, args: ["-k", "node", "--access-logfile", "LOG"] },
  (srv) => {
    test("async middleware answers through the context", async () => {
      const res = await srv().fetch("/koa", { method: "POST", body: "ignored" });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-response-time")).toMatch(/^\d+\.\dms$/);
      expect(await res.json()).toEqual({ hello: "koa-like", method: "POST" });
      expect(statusOf((await srv().waitAccessLines(1))[0]!)).toBe(200);
    });

    test("an error in middleware: the callback's own 500", async () => {
      const res = await srv().fetch("/koa/throw");
      expect(res.status).toBe(500);
      expect(await res.text()).toBe("koa-like error: thrown in middleware");
    });

    test("no middleware answers: 404", async () => {
      const res = await srv().fetch("/elsewhere");
      expect(res.status).toBe(404);
      expect(await res.text()).toBe("Not Found");
    });
  },
  TWO_MODES,
);

function statusOf(line: string): number {
  return Number(/" (\d{3}) /.exec(line)?.[1]);
}

afterAll(killAll);

test("examples/express.ts runs as its comment says: bunicorn -k node examples/express.ts", async () => {
  const port = await freePort();
  const b = await startBunicorn(["-k", "node", "examples/express.ts", "-w", "1", "-b", `127.0.0.1:${port}`]);
  const base = `http://127.0.0.1:${port}`;
  expect(await (await get(`${base}/`)).text()).toBe("Hello from Express!");
  const user = (await (await get(`${base}/users/7?fields=name`)).json()) as Record<string, unknown>;
  expect([user.id, user.fields, user.pid]).toEqual(["7", "name", b.workers()[0]]);
  const echo = await get(`${base}/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":[1,2]}' });
  expect([echo.status, await echo.json()]).toEqual([201, { received: { a: [1, 2] } }]);
  expect(await (await get(`${base}/count`)).text()).toBe("1\n2\n3\n");
  expect(await b.stop()).toBe(0);
});
