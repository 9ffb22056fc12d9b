// The engine's router (src/http/router.ts) against Bun.serve 1.4.4's own: the same route tables,
// the same raw requests, the same route and `req.params` for every one. The tables are generated
// (a fixed seed, so every run checks the same cases) from paths that overlap on purpose: exact,
// `:param` and wildcard segments, trailing slashes, per-method objects, `false`, `/*`.
import { describe, expect, test } from "bun:test";
import { compileRoutes, type RouteHandler } from "../../src/app/routes.ts";
import { decodeParam, paramNames } from "../../src/http/route-params.ts";
import { Router, targetPath } from "../../src/http/router.ts";
import { connect } from "../support/http-client.ts";

type Spec = Record<string, "fn" | false | Partial<Record<"GET" | "HEAD" | "POST" | "PUT" | "DELETE", "fn">>>;

/** A handler that names its route and method in headers (HEAD keeps them). */
function tagged(tag: string): RouteHandler {
  return (req: Request) =>
    new Response(null, { headers: { "x-tag": tag, "x-params": encodeURIComponent(JSON.stringify((req as Request & { params?: unknown }).params ?? null)) } });
}

/** The Bun `routes` for `spec`, every handler tagged with its key and method. */
function routesOf(spec: Spec): Record<string, unknown> {
  const routes: Record<string, unknown> = {};
  for (const [path, v] of Object.entries(spec)) {
    if (v === false) routes[path] = false;
    else if (v === "fn") routes[path] = tagged(`${path} ANY`);
    else routes[path] = Object.fromEntries(Object.keys(v).map((m) => [m, tagged(`${path} ${m}`)]));
  }
  return routes;
}

const fallback = () => new Response(null, { status: 404, headers: { "x-tag": "fetch" } });

/** A WebSocket handshake's headers ("UPGRADE" in a case: a GET with these). */
const HANDSHAKE = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/** Route and params as Bun.serve answers `method target`. */
async function viaBun(port: number, method: string, target: string): Promise<string> {
  const c = await connect(port);
  try {
    const head = method === "UPGRADE" ? `GET ${target} HTTP/1.1\r\nHost: x\r\n${HANDSHAKE}` : `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n`;
    c.write(`${head}\r\n`);
    const text = await c.until((t) => t.includes("\r\n\r\n"), 5000);
    const lines = text.slice(0, text.indexOf("\r\n\r\n")).split("\r\n");
    const headers = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
    const tag = headers.get("x-tag") ?? `status ${lines[0]!.slice(9, 12)}`;
    return `${tag} ${decodeURIComponent(headers.get("x-params") ?? "null")}`;
  } finally {
    c.end();
  }
}

/** Route and params as bunicorn's router decides them. */
async function viaRouter(router: Router, method: string, target: string): Promise<string> {
  const m = method === "UPGRADE" ? router.find("GET", targetPath(target), true) : router.find(method, targetPath(target));
  if (m.handler === null) return "fetch null";
  // A request-like object: the handlers read only the method and params (Request refuses TRACE).
  const req = { method: method === "UPGRADE" ? "GET" : method, url: `http://x${target}`, headers: new Headers(), params: m.params } as unknown as Request;
  const res = await m.handler(req, null);
  return `${res.headers.get("x-tag")} ${decodeURIComponent(res.headers.get("x-params") ?? "null")}`;
}

/**
 * Every request routed by Bun.serve, given the table as reuse-port mode gives it
 * (`AppRoutes.forBunServe`), and by the engine's router: the same route and params.
 */
async function compare(spec: Spec, requests: [string, string][], websocket = false): Promise<void> {
  const routes = await compileRoutes(routesOf(spec), fallback, websocket);
  const table = routes.forBunServe((call) => (req: Request, server: unknown) => call(req, server));
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    development: false,
    routes: table as never,
    fetch: fallback,
    ...(websocket ? { websocket: { message() {} } } : {}),
  });
  try {
    const router = new Router(routes);
    for (const [method, target] of requests) {
      const bun = await viaBun(server.port!, method, target);
      const ours = await viaRouter(router, method, target);
      expect(`${method} ${target} -> ${ours}`).toBe(`${method} ${target} -> ${bun}`);
    }
  } finally {
    server.stop(true);
  }
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("the router picks the route Bun.serve picks", () => {
  test("precedence: exact, then :param, then wildcard, segment by segment, with backtracking", async () => {
    await compare(
      {
        "/users/me": "fn",
        "/users/:id": "fn",
        "/users/*": "fn",
        "/users/:id/posts": "fn",
        "/a/:x/c": "fn",
        "/a/b/d": "fn",
        "/api/*": "fn",
        "/*": "fn",
        "/slash/": "fn",
      },
      [
        ["GET", "/users/me"], ["GET", "/users/42"], ["GET", "/users/42/posts"], ["GET", "/users/42/x"], ["GET", "/users/"],
        ["GET", "/users"], ["GET", "/users//me"], ["GET", "/users/me/"], ["GET", "/a/b/c"], ["GET", "/a/b/d"], ["GET", "/a/z/c"],
        ["GET", "/api"], ["GET", "/api/"], ["GET", "/api/x/y"], ["GET", "/"], ["GET", "/slash"], ["GET", "/slash/"],
        ["GET", "//users/me"], ["GET", "/x/../users/me"], ["GET", "/users/me?q=1"], ["GET", "/users/me#f"], ["GET", "/Users/me"],
        ["GET", "http://x/users/9"],
      ],
    );
  });

  test("methods: per-method objects, HEAD through GET, the fallback for the rest, false", async () => {
    await compare(
      {
        "/m": { GET: "fn", POST: "fn" },
        "/mh": { HEAD: "fn" },
        "/z": { HEAD: "fn", GET: "fn" },
        "/y": { GET: "fn" },
        "/:id": { HEAD: "fn", POST: "fn" },
        "/a/:x": { HEAD: "fn" },
        "/a/:y": { GET: "fn" },
        "/b/:x": { GET: "fn" },
        "/b/:y": { HEAD: "fn" },
        "/k/:x": { GET: "fn" },
        "/k/:y": "fn",
        "/off": false,
        "/n/:x": false,
        "/n/:y/k": "fn",
        "/p/:x": "fn",
        "/p/:y": "fn",
      },
      [
        ["GET", "/m"], ["POST", "/m"], ["PUT", "/m"], ["HEAD", "/m"], ["OPTIONS", "/m"], ["HEAD", "/mh"], ["GET", "/mh"],
        ["HEAD", "/z"], ["HEAD", "/y"], ["POST", "/y"], ["HEAD", "/q"], ["POST", "/q"], ["HEAD", "/a/1"], ["GET", "/a/1"],
        ["HEAD", "/b/1"], ["GET", "/b/1"], ["GET", "/k/1"], ["HEAD", "/k/1"], ["POST", "/k/1"], ["GET", "/off"], ["HEAD", "/off"],
        ["GET", "/n/1"], ["GET", "/n/1/k"], ["GET", "/p/1"], ["PROPFIND", "/p/1"], ["DELETE", "/m"],
      ],
    );
  });

  test("a /* route for some methods leaves the others to fetch", async () => {
    await compare({ "/*": { GET: "fn" }, "/a": { POST: "fn" } }, [
      ["GET", "/a"], ["POST", "/a"], ["PUT", "/a"], ["GET", "/"], ["HEAD", "/zz"], ["DELETE", "/zz"], ["PROPFIND", "/zz"],
    ]);
  });

  test("with websocket handlers, a WebSocket handshake takes the handlers for every method or GET, not false", async () => {
    const spec: Spec = {
      "/off": false,
      "/:id": "fn",
      "/g": { GET: "fn" },
      "/g2/:x": { GET: "fn" },
      "/g2/:y": "fn",
      "/p": { POST: "fn" },
      "/h": { HEAD: "fn", PUT: "fn" },
      "/w/*": { GET: "fn" },
    };
    const paths = ["/off", "/g", "/g2/1", "/p", "/h", "/a/b", "/w/x", "/"];
    await compare(spec, [...paths.map((p): [string, string] => ["UPGRADE", p]), ...paths.map((p): [string, string] => ["GET", p])], true);
    await compare({ "/*": { GET: "fn" }, "/a": "fn" }, [["UPGRADE", "/"], ["UPGRADE", "/a"], ["UPGRADE", "/zz"], ["GET", "/zz"]], true);
    await compare({ "/*": "fn", "/a": false }, [["UPGRADE", "/a"], ["GET", "/a"]], true);
  });

  test("parameter names and values: the text after a segment's last ':', percent-decoded as Bun does", async () => {
    await compare(
      { "/q/:a/:b": "fn", "/r/:a-:b": "fn", "/u/::x": "fn", "/v/:": "fn", "/f-:x/z": "fn", "/d/:v": "fn" },
      [
        ["GET", "/q/1/2"], ["GET", "/r/1"], ["GET", "/u/1"], ["GET", "/v/1"], ["GET", "/f-:x/z"], ["GET", "/f-1/z"],
        ["GET", "/d/a%20b"], ["GET", "/d/caf%C3%A9"], ["GET", "/d/%FF"], ["GET", "/d/a%2Fb"], ["GET", "/d/a%"], ["GET", "/d/a%zzb"],
        ["GET", "/d/a%2"], ["GET", "/d/%E2%82"], ["GET", "/d/%E2%82x"], ["GET", "/d/%E2%82%AC"], ["GET", "/d/a+b"], ["GET", "/d/%C0%AF"],
        ["GET", "/d/%ED%A0%80"], ["GET", "/d/%25"], ["GET", "/d/%F0%9F%98%80x"], ["GET", "/d/%e2%82%ac"], ["GET", "/d/%%41"],
        ["GET", "/d/%F0%9F%98"], ["GET", "/d/%FF%FE"], ["GET", "/d/%E2%28%A1"], ["GET", "/d/%F8%88%80%80%80"], ["GET", "/d/%F4%90%80%80"],
        ["GET", "/d/%C3%A9%"], ["GET", "/d/;x"],
      ],
    );
  });

  // Generated tables: overlaps of the vocabulary below, against Bun.
  const SEGMENTS = ["a", "b", ":x", ":y", ":", "*", "*rest", ""];
  const REQUEST_SEGMENTS = ["a", "b", "c", "", "%61", "rest"];
  const ROUTE_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE"] as const;
  const REQUEST_METHODS = [...ROUTE_METHODS, "OPTIONS", "PROPFIND"];
  const TABLES = 40;
  for (let seed = 1; seed <= TABLES; seed++) {
    test(`generated table ${seed}`, async () => {
      const rnd = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const spec: Spec = {};
      const nRoutes = 3 + Math.floor(rnd() * 6);
      for (let i = 0; i < nRoutes; i++) {
        const depth = 1 + Math.floor(rnd() * 3);
        // Parameter names are made unique (Bun refuses a repeated one; a bare `:` has an empty name).
        let n = 0;
        let bare = false;
        const path = `/${Array.from({ length: depth }, () => {
          const s = pick(SEGMENTS);
          if (s === ":") return bare ? `:z${n++}` : ((bare = true), s);
          return s.length > 1 && s.startsWith(":") ? `${s}${n++}` : s;
        }).join("/")}`;
        const kind = rnd();
        if (kind < 0.45) spec[path] = "fn";
        else if (kind < 0.55) spec[path] = false;
        else {
          const methods: Partial<Record<(typeof ROUTE_METHODS)[number], "fn">> = {};
          for (const m of ROUTE_METHODS) if (rnd() < 0.4) methods[m] = "fn";
          if (Object.keys(methods).length === 0) methods.GET = "fn";
          spec[path] = methods;
        }
      }
      // Every other table: an app with websocket handlers, and WebSocket handshakes among the requests.
      const websocket = seed % 2 === 0;
      const methods = websocket ? [...REQUEST_METHODS, "UPGRADE", "UPGRADE"] : REQUEST_METHODS;
      const requests: [string, string][] = [];
      for (let i = 0; i < 30; i++) {
        const depth = Math.floor(rnd() * 4);
        requests.push([pick(methods), `/${Array.from({ length: depth }, () => pick(REQUEST_SEGMENTS)).join("/")}`]);
      }
      await compare(spec, requests, websocket);
    });
  }
});

describe("route-params", () => {
  test("names are the text after each segment's last ':'", () => {
    expect(paramNames("/users/:id")).toEqual(["id"]);
    expect(paramNames("/a/:x/b/:y")).toEqual(["x", "y"]);
    expect(paramNames("/r/:a-:b")).toEqual(["b"]);
    expect(paramNames("/v/:")).toEqual([]);
    expect(paramNames("/f-:x/z")).toEqual(["x"]);
  });

  test("decoding follows Bun's rules for bad escapes and bad UTF-8", () => {
    expect(decodeParam("plain")).toBe("plain");
    expect(decodeParam("a%20b")).toBe("a b");
    expect(decodeParam("a%zzb")).toBe("a\uFFFDb");
    expect(decodeParam("a%2")).toBe("a\uFFFD2");
    expect(decodeParam("%C0%AF")).toBe("\uFFFD");
    expect(decodeParam("%E2%28%A1")).toBe("\uFFFD(\uFFFD");
    expect(decodeParam("%F0%9F%98%80")).toBe("😀");
    expect(decodeParam("\xc3\xa9")).toBe("é");
  });
});

