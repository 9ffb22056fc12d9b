// Static and file routes as bunicorn serves them (handlers from src/app/static-route.ts, given
// to Bun.serve as reuse-port mode gives them) against Bun.serve 1.4.4's own static and file
// routes: the same status, headers and body for every request.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileRoutes } from "../../src/app/routes.ts";
import { ifNoneMatch } from "../../src/app/static-route.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bunicorn-static-route-"));
  writeFileSync(join(dir, "a.txt"), "hello file");
  writeFileSync(join(dir, "empty.txt"), "");
  writeFileSync(join(dir, "page.html"), "<p>hi</p>");
  utimesSync(join(dir, "a.txt"), new Date("2024-01-02T03:04:05.678Z"), new Date("2024-01-02T03:04:05.678Z"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fallback = () => new Response("fetch", { status: 404 });

/** status, headers (sorted, without Date) and body of `req` on `port`. */
async function answer(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, redirect: "manual" });
  const h = [...res.headers].filter(([k]) => k !== "date").map(([k, v]) => `${k}: ${v}`).sort();
  return `${res.status}\n${h.join("\n")}\n\n${await res.text()}`;
}

/** Serves `routes` with Bun's own routes and as bunicorn gives them to Bun.serve; compares each request. */
async function compare(routes: () => Record<string, unknown>, requests: [string, string, Record<string, string>?][]): Promise<void> {
  const raw = Bun.serve({ port: 0, hostname: "127.0.0.1", development: false, routes: routes() as never, fetch: fallback });
  const compiled = await compileRoutes(routes(), fallback);
  const ours = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    development: false,
    routes: compiled.forBunServe((call) => (req: Request, server: unknown) => call(req, server)) as never,
    fetch: fallback,
  });
  try {
    for (const [method, path, headers] of requests) {
      const label = `${method} ${path} ${JSON.stringify(headers ?? {})}\n`;
      expect(label + (await answer(ours.port!, method, path, headers))).toBe(label + (await answer(raw.port!, method, path, headers)));
    }
  } finally {
    raw.stop(true);
    ours.stop(true);
  }
}

describe("static routes answer as Bun.serve's", () => {
  test("bodies, types, ETags, HEAD and other methods", async () => {
    await compare(
      () => ({
        "/s": new Response("static body", { headers: { "x-a": "1", "set-cookie": "a=b" } }),
        "/j": Response.json({ a: 1 }),
        "/b": new Response(new Blob(["blob!"], { type: "x/y" })),
        "/nf": new Response("nope", { status: 404 }),
        "/r": Response.redirect("/elsewhere", 302),
        "/e": new Response(null, { status: 204 }),
        "/empty": new Response(""),
        "/null": new Response(null),
        "/et": new Response("x", { headers: { etag: '"mine"' } }),
        "/cl": new Response("abc", { headers: { "content-length": "99" } }),
        "/m": { GET: new Response("get static"), POST: new Response("post static", { status: 201 }) },
      }),
      [
        ["GET", "/s"], ["HEAD", "/s"], ["POST", "/s"], ["PUT", "/s"], ["GET", "/j"], ["GET", "/b"], ["GET", "/nf"], ["GET", "/r"],
        ["GET", "/e"], ["GET", "/empty"], ["HEAD", "/empty"], ["GET", "/null"], ["GET", "/et"], ["GET", "/cl"],
        ["GET", "/m"], ["HEAD", "/m"], ["POST", "/m"], ["DELETE", "/m"],
      ],
    );
  });

  test("If-None-Match: a 304 for a GET or HEAD of a 200 whose ETag matches", async () => {
    const etag = `"${Bun.hash.xxHash64("static body").toString(16).padStart(16, "0")}"`;
    await compare(
      () => ({ "/s": new Response("static body", { headers: { "x-a": "1" } }), "/nf": new Response("nope", { status: 404 }), "/et": new Response("x", { headers: { etag: '"mine"' } }), "/empty": new Response("") }),
      [
        ["GET", "/s", { "if-none-match": etag }], ["HEAD", "/s", { "if-none-match": etag }], ["GET", "/s", { "if-none-match": `W/${etag}` }],
        ["GET", "/s", { "if-none-match": `"x", ${etag}` }], ["GET", "/s", { "if-none-match": "*" }], ["GET", "/s", { "if-none-match": '"other"' }],
        ["POST", "/s", { "if-none-match": etag }], ["GET", "/nf", { "if-none-match": "*" }], ["GET", "/et", { "if-none-match": '"mine"' }],
        ["GET", "/et", { "if-none-match": "mine" }], ["GET", "/empty", { "if-none-match": "*" }],
      ],
    );
  });
});

describe("file routes answer as Bun.serve's", () => {
  test("a file: type, Last-Modified, HEAD, If-Modified-Since, Range, an empty file", async () => {
    const lastModified = "Tue, 02 Jan 2024 03:04:05 GMT";
    await compare(
      () => ({
        "/f": Bun.file(join(dir, "a.txt")),
        "/rf": new Response(Bun.file(join(dir, "a.txt"))),
        "/h": new Response(Bun.file(join(dir, "page.html")), { headers: { "x-f": "1" } }),
        "/created": new Response(Bun.file(join(dir, "a.txt")), { status: 201 }),
        "/empty": Bun.file(join(dir, "empty.txt")),
      }),
      [
        ["GET", "/f"], ["HEAD", "/f"], ["POST", "/f"], ["GET", "/rf"], ["GET", "/h"], ["GET", "/created"], ["GET", "/empty"],
        ["GET", "/f", { "if-modified-since": lastModified }], ["HEAD", "/f", { "if-modified-since": lastModified }],
        ["GET", "/f", { "if-modified-since": "Mon, 01 Jan 2024 00:00:00 GMT" }], ["GET", "/f", { "if-modified-since": "garbage" }],
        ["POST", "/f", { "if-modified-since": lastModified }], ["GET", "/created", { "if-modified-since": lastModified }],
        ["GET", "/f", { "if-none-match": "*" }], ["GET", "/f", { range: "bytes=0-3" }], ["GET", "/f", { range: "bytes=50-" }],
      ],
    );
  });

  test("a file that is missing passes the request on to the next route, or to fetch", async () => {
    const gone = join(dir, "gone.txt");
    writeFileSync(gone, "soon gone");
    await compare(
      () => ({ "/missing": Bun.file(join(dir, "nope.txt")), "/gone": Bun.file(gone), "/d/x": Bun.file(dir), "/d/*": () => new Response("wildcard") }),
      [["GET", "/missing"], ["HEAD", "/missing"], ["GET", "/gone"], ["GET", "/d/x"]],
    );
    unlinkSync(gone);
    await compare(() => ({ "/gone": Bun.file(gone), "/*": () => new Response("star") }), [["GET", "/gone"], ["HEAD", "/gone"]]);
  });
});

describe("the routes table is refused as Bun.serve refuses it", () => {
  const refusal = async (routes: Record<string, unknown>): Promise<string> => {
    try {
      await compileRoutes(routes, fallback);
      return "accepted";
    } catch (e) {
      return (e as Error).message;
    }
  };
  const bunRefusal = (routes: Record<string, unknown>): string => {
    try {
      Bun.serve({ port: 0, development: false, routes: routes as never, fetch: fallback }).stop(true);
      return "accepted";
    } catch (e) {
      return `Invalid routes: ${(e as Error).message.split("\n")[0]}`;
    }
  };
  for (const [name, routes] of [
    ["a path without /", () => ({ users: () => new Response("x") })],
    ["a path that is not ASCII", () => ({ "/café": () => new Response("x") })],
    ["a parameter name that starts with a digit", () => ({ "/a/:1x": () => new Response("x") })],
    ["a repeated parameter name", () => ({ "/a/:x/b/:x": () => new Response("x") })],
    ["a value that is no route", () => ({ "/n": 5 })],
    ["an object without methods", () => ({ "/n": {} })],
    ["lower-case methods", () => ({ "/n": { get: () => new Response("x") } })],
    ["a streamed body", () => ({ "/st": new Response(new ReadableStream()) })],
    [
      "a used body",
      () => {
        const used = new Response("x");
        void used.text();
        return { "/u": used };
      },
    ],
    ["ignored method values", () => ({ "/m": { GET: 5, POST: null, PUT: false } })],
    ["undefined values", () => ({ "/u": undefined, "/v": { GET: undefined } })],
    ["a query in the path", () => ({ "/q?x": () => new Response("q") })],
  ] as [string, () => Record<string, unknown>][]) {
    test(name, async () => {
      expect(await refusal(routes())).toBe(bunRefusal(routes()));
    });
  }

  test("directory routes and HTML imports are refused (bunicorn does not serve them)", async () => {
    expect(await refusal({ "/static/*": { dir: dir } })).toContain("bunicorn does not serve directory routes");
    expect(await refusal({ "/static": { dir: dir } })).toBe(bunRefusal({ "/static": { dir: dir } }));
  });
});

test("If-None-Match comparison (RFC 9110 weak comparison, as Bun)", () => {
  expect(ifNoneMatch('"abc"', '"abc"')).toBe(true);
  expect(ifNoneMatch('"abc"', 'W/"abc"')).toBe(true);
  expect(ifNoneMatch('W/"abc"', '"abc"')).toBe(true);
  expect(ifNoneMatch('"abc"', ' "x" , "abc" ')).toBe(true);
  expect(ifNoneMatch('"abc"', " * ")).toBe(true);
  expect(ifNoneMatch('"abc"', '"abd"')).toBe(false);
});
