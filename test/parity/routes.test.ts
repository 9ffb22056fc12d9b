// Shared behaviour suite: Bun `routes` (`export default { routes, fetch }`), in every mode. The
// expected answers are Bun.serve's own: the fixture app is also served here by a raw
// `Bun.serve(app)`, and every case must get the same status, headers and body from bunicorn.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { freePort, ROOT, startBunicorn, waitFor } from "../support/harness.ts";
import { forEachMode, MODES, type Mode } from "./modes.ts";
import routesApp from "./fixtures/routes-app.ts";
import routesOnlyApp from "./fixtures/routes-only-app.ts";
import routesBadApp from "./fixtures/routes-bad-app.ts";
import routesWsApp from "./fixtures/routes-ws-app.ts";
import { clientFrame, rawWebSocket } from "../support/ws-client.ts";

const APP = `${ROOT}/test/parity/fixtures/routes-app.ts`;
const ONLY_APP = `${ROOT}/test/parity/fixtures/routes-only-app.ts`;
const BAD_APP = `${ROOT}/test/parity/fixtures/routes-bad-app.ts`;
const WS_APP = `${ROOT}/test/parity/fixtures/routes-ws-app.ts`;
const HOOKS = `${ROOT}/test/parity/fixtures/request-hooks.config.ts`;
const STATIC = readFileSync(`${ROOT}/test/parity/fixtures/static.txt`);
/** Bunicorn's plain 500 (an app error is never Bun's "Something went wrong!" page). */
const plain500 = () => new Response("Internal Server Error", { status: 500, headers: { "content-type": "text/plain" } });

/** The headers a case compares (Date, Connection and Keep-Alive are the server's own). */
const COMPARED = ["content-type", "content-length", "etag", "last-modified", "location", "set-cookie", "x-health", "content-range", "accept-ranges"];

async function answer(res: Response): Promise<string> {
  const h = COMPARED.flatMap((k) => (k === "set-cookie" ? res.headers.getSetCookie().map((v) => `${k}: ${v}`) : res.headers.has(k) ? [`${k}: ${res.headers.get(k)}`] : []));
  return `${res.status}\n${h.join("\n")}\n\n${await res.text()}`;
}

let raw: Server<unknown> | null = null;
let rawOnly: Server<unknown> | null = null;
let rawWs: Server<unknown> | null = null;
beforeAll(() => {
  rawWs = Bun.serve({ ...(routesWsApp as object), port: 0, hostname: "127.0.0.1", development: false } as never);
  raw = Bun.serve({ ...(routesApp as object), port: 0, hostname: "127.0.0.1", development: false, error: plain500 } as never);
  rawOnly = Bun.serve({ ...(routesOnlyApp as object), port: 0, hostname: "127.0.0.1", development: false } as never);
});
afterAll(() => {
  rawWs?.stop(true);
  raw?.stop(true);
  rawOnly?.stop(true);
});

type Case = [method: string, path: string, headers?: Record<string, string>, body?: string];

const etagOfHome = `"${Bun.hash.xxHash64("home").toString(16).padStart(16, "0")}"`;
const ROUTING: Case[] = [
  ["GET", "/users/me"], ["GET", "/users/42"], ["GET", "/users/a/b"], ["GET", "/users/"], ["GET", "/users"], ["GET", "/users//me"],
  ["GET", "/posts/1/comments/2"], ["GET", "/api/x/y"], ["GET", "/api"], ["GET", "/api/"], ["GET", "/zz"],
  ["GET", "/users/caf%C3%A9"], ["GET", "/users/a%20b?x=1"], ["GET", "/users/%FF"], ["GET", "/users/a%2Fb"],
  ["PATCH", "/users/me"], ["PROPFIND", "/users/9"], ["OPTIONS", "/posts/1/comments/2"],
];
const METHODS: Case[] = [
  ["GET", "/items"], ["HEAD", "/items"], ["POST", "/items", {}, "a body"], ["PUT", "/items"], ["DELETE", "/items"], ["HEAD", "/items/7"],
  ["PUT", "/items/7"], ["GET", "/items/7"], ["GET", "/legacy"], ["POST", "/legacy"],
];
const STATICS: Case[] = [
  ["GET", "/"], ["HEAD", "/"], ["POST", "/"], ["GET", "/", { "if-none-match": etagOfHome }], ["HEAD", "/", { "if-none-match": `W/${etagOfHome}` }],
  ["GET", "/", { "if-none-match": '"other"' }], ["GET", "/health"], ["GET", "/redirect"],
];
const FILES: Case[] = [
  ["GET", "/file"], ["HEAD", "/file"], ["GET", "/file", { range: "bytes=0-9" }], ["GET", "/file", { range: "bytes=999999-" }],
];
const HANDLERS: Case[] = [["GET", "/cookies", { cookie: "a=1; b=2" }], ["GET", "/cookies"], ["GET", "/this"], ["GET", "/boom"], ["GET", "/async-boom"]];

/** Each case from bunicorn and from raw Bun.serve: the same answer. */
async function sameAsBun(bunicorn: (path: string, init: RequestInit) => Promise<Response>, rawPort: number, cases: Case[]): Promise<void> {
  for (const [method, path, headers = {}, body] of cases) {
    const init: RequestInit = { method, headers, redirect: "manual", ...(body !== undefined ? { body } : {}) };
    const label = `${method} ${path} ${JSON.stringify(headers)}\n`;
    const want = await answer(await fetch(`http://127.0.0.1:${rawPort}${path}`, init));
    expect(label + (await answer(await bunicorn(path, init)))).toBe(label + want);
  }
}

forEachMode(
  "Bun routes",
  {
    app: APP,
    args: ["--access-logfile", "LOG", "--access-logformat", '%(s)s %(B)s "%(r)s"', "-c", HOOKS, "--worker-connections", "1"],
    env: { HOOK_LOG: "DIR/hooks.log" },
  },
  (srv) => {
    const via = (path: string, init: RequestInit) => srv().fetch(path, init);

    test("each request takes the route Bun.serve gives it: exact, then :param, then wildcard; params decoded", async () => {
      await sameAsBun(via, raw!.port!, ROUTING);
    });

    test("per-method routes: HEAD takes GET's, other methods go to fetch; false goes to fetch", async () => {
      await sameAsBun(via, raw!.port!, METHODS);
    });

    test("static routes: ETag, If-None-Match 304, HEAD, any method, a redirect", async () => {
      await sameAsBun(via, raw!.port!, STATICS);
    });

    test("a file route: the file with Last-Modified, If-Modified-Since, Range", async () => {
      await sameAsBun(via, raw!.port!, FILES);
      const lastModified = (await srv().fetch("/file")).headers.get("last-modified")!;
      await sameAsBun(via, raw!.port!, [["GET", "/file", { "if-modified-since": lastModified }]]);
      const file = await srv().fetch("/file");
      expect(Buffer.from(await file.arrayBuffer()).equals(STATIC)).toBe(true);
    });

    test("a file route whose file is missing passes the request on to fetch", async () => {
      const res = await srv().fetch("/missing-file");
      expect(res.status).toBe(404);
      expect(((await res.json()) as { route: string }).route).toBe("fetch");
    });

    test("handlers: req.cookies and Set-Cookie, this and the server; a throwing one is a plain 500", async () => {
      await sameAsBun(via, raw!.port!, HANDLERS);
    });

    test("a handler that returns no Response is a plain 500 with no stack trace, and the worker keeps serving", async () => {
      const s = srv();
      for (const path of ["/boom", "/async-boom", "/not-a-response"]) {
        const res = await s.fetch(path);
        expect(res.status).toBe(500);
        const body = await res.text();
        expect(body).toBe("Internal Server Error");
      }
      expect(((await (await s.fetch("/users/1")).json()) as { route: string }).route).toBe("param");
    });

    test("every route request is in the access log once, with its status and bytes", async () => {
      const s = srv();
      const cases: [string, number][] = [["/users/7?t=a", 200], ["/?t=b", 200], ["/legacy?t=c", 404], ["/boom?t=d", 500], ["/file?t=e", 200], ["/health?t=f", 200]];
      const sizes: number[] = [];
      for (const [path, status] of cases) {
        const res = await s.fetch(path);
        expect(res.status).toBe(status);
        sizes.push((await res.arrayBuffer()).byteLength);
      }
      // Lines are flushed within 50 ms, earlier tests' too: wait for this test's own lines.
      const lines = await waitFor("every case's access line", () => {
        const all = s.accessLines();
        return cases.every(([path]) => all.some((l) => l.includes(` ${path} HTTP/1.1"`))) ? all : null;
      });
      for (const [i, [path, status]] of cases.entries()) {
        const mine = lines.filter((l) => l.includes(` ${path} HTTP/1.1"`));
        expect(mine).toEqual([`${status} ${sizes[i]} "GET ${path} HTTP/1.1"`]);
      }
    });

    test("pre_request and post_request run around route handlers", async () => {
      const s = srv();
      const log = `${s.dir}/hooks.log`;
      const count = () => {
        try {
          return readFileSync(log, "utf8").trim().split("\n").length;
        } catch {
          return 0;
        }
      };
      const before = count();
      expect((await s.fetch("/users/hooks")).status).toBe(200);
      expect((await s.fetch("/health")).status).toBe(200);
      expect((await s.fetch("/boom")).status).toBe(500);
      const lines = await waitFor("6 more hook lines", () => (count() >= before + 6 ? readFileSync(log, "utf8").trim().split("\n") : null));
      expect(lines.slice(before, before + 6)).toEqual(["pre GET /users/hooks", "post GET /users/hooks 200", "pre GET /health", "post GET /health 200", "pre GET /boom", "post GET /boom 500"]);
    });

    test("worker_connections caps route requests: a plain 503 beyond it", async () => {
      const s = srv();
      // Three slow route requests at once against a cap of 1 (per thread in gthread: 2 threads).
      const results = await Promise.all([0, 1, 2].map(() => s.fetch("/slow").then(async (r) => [r.status, await r.text()] as const)));
      const statuses = results.map(([status]) => status).sort();
      expect(statuses).toContain(200);
      expect(statuses).toContain(503);
      // (The engine's own 503 ends its body with a newline, Worker.handle's does not: a difference
      // of worker_connections in general, not of routes.)
      for (const [status, body] of results) expect(body.trimEnd()).toBe(status === 200 ? "slow done" : "Service Unavailable");
    });
  },
);

forEachMode("Bun routes without fetch", { app: ONLY_APP }, (srv) => {
  test("what no route takes is Bun's plain 404 with an empty body", async () => {
    await sameAsBun((path, init) => srv().fetch(path, init), rawOnly!.port!, [
      ["GET", "/hello"], ["GET", "/zz"], ["HEAD", "/zz"], ["POST", "/zz"], ["GET", "/off"], ["GET", "/hello/"],
    ]);
  });
});

forEachMode("Bun routes with websocket handlers", { app: WS_APP }, (srv) => {
  /** A WebSocket handshake to `path`: the response's status line, and the first message after a "hi" if upgraded. */
  const handshake = async (target: number | { unix: string }, path: string): Promise<string> => {
    const ws = await rawWebSocket(target, path);
    try {
      const status = ws.head.split("\r\n")[0]!;
      if (!status.startsWith("HTTP/1.1 101")) return status;
      ws.write(clientFrame(1, "hi"));
      const frames = await ws.until((f) => f.length >= 2);
      return `${status} ${frames.map((f) => f.payload.toString("utf8")).join(" ")}`;
    } finally {
      ws.end();
    }
  };

  test("a route handler upgrades; a handshake takes the routes Bun.serve gives it (not false), fetch the rest", async () => {
    const s = srv();
    for (const path of ["/chat/lobby", "/off", "/home", "/a/b"]) {
      const want = await handshake(rawWs!.port!, path);
      expect(`${path}: ${await handshake(s.mode.unix ? { unix: s.socketPath } : s.port, path)}`).toBe(`${path}: ${want}`);
    }
    expect(await handshake(rawWs!.port!, "/chat/lobby")).toBe('HTTP/1.1 101 Switching Protocols {"room":"lobby","via":"route"} hi');
    await sameAsBun((path, init) => srv().fetch(path, init), rawWs!.port!, [["GET", "/off"], ["GET", "/home"], ["GET", "/chat/x"]]);
  });
});

/** The command line of `mode` on its own address, as modes.ts builds it. */
function argsOf(mode: Mode, app: string, port: number, dir: string): string[] {
  const args = [app, "-w", "1", "-b", mode.unix ? `unix:${dir}/s.sock` : `127.0.0.1:${port}`];
  if (mode.listen === "shared-socket" && !mode.unix) args.push("--no-reuse-port");
  if (mode.gthread) args.push("-k", "gthread", "--threads", "2");
  return args;
}

describe("a routes table Bun.serve refuses", () => {
  const bunSays = (() => {
    try {
      Bun.serve({ ...(routesBadApp as object), port: 0, development: false } as never).stop(true);
      return "accepted";
    } catch (e) {
      return (e as Error).message.split("\n")[0]!;
    }
  })();
  for (const mode of MODES) {
    test(`fails the app's load with Bun's message and exit 4 [${mode.name}]`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "bunicorn-routes-bad-"));
      try {
        const b = await startBunicorn(argsOf(mode, BAD_APP, await freePort(), dir), { ready: null });
        const code = await Promise.race([b.proc.exited, Bun.sleep(15_000).then(() => null)]);
        if (code === null) await b.stop("SIGKILL");
        expect(bunSays).toBe("Route parameter names cannot start with a number.");
        expect({ code, error: b.output().includes(`[ERROR] Invalid routes: ${bunSays}`) }).toEqual({ code: 4, error: true });
        expect(b.output()).toContain("App failed to load.");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
