// Shared behaviour suite: a real Express 4 app through the Node worker (`-k node`,
// plugins/node) in every mode: route params and query, express.json() bodies, cookies, a body
// streamed over time and received as it is written, Express's own 404/500 for its errors, the
// access log's status and bytes, the client's address, gthread's threads, and a graceful stop
// that lets a slow response finish. Without -k node, the Express app is refused with a hint.
import { afterAll, expect, test } from "bun:test";
import { freePort, killAll, ROOT, startBunicorn } from "../support/harness.ts";
import { forEachMode, type Served } from "./modes.ts";

const APP = `${ROOT}/test/parity/fixtures/express-app.ts`;

/** The access line of `target`, once logged. */
async function accessLine(s: Served, target: string): Promise<string> {
  const find = () => s.accessLines().find((l) => l.includes(` ${target} HTTP/1.1"`));
  for (let i = 0; i < 100 && find() === undefined; i++) await Bun.sleep(20);
  const line = find();
  if (line === undefined) throw new Error(`no access line for ${target} in:\n${s.accessLines().join("\n")}`);
  return line;
}

/** Status and bytes of an access line (`"GET / HTTP/1.1" 200 19`). */
function statusBytes(line: string): [number, string] {
  const m = / HTTP\/1\.1" (\d{3}) (\S+)/.exec(line);
  if (m === null) throw new Error(`not an access line: ${line}`);
  return [Number(m[1]), m[2]!];
}

forEachMode("Express through -k node", { app: APP, args: ["-k", "node", "--access-logfile", "LOG"] }, (srv, mode) => {
  test("route params and query", async () => {
    const res = await srv().fetch("/users/7/posts/abc?sort=new&tag=a&tag=b");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("x-powered-by")).toBe("Express");
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ params: { id: "7", post: "abc" }, query: { sort: "new", tag: ["a", "b"] } });
    expect(statusBytes(await accessLine(srv(), "/users/7/posts/abc?sort=new&tag=a&tag=b"))).toEqual([200, String(Buffer.byteLength(body))]);
  });

  test("express.json() reads the request body", async () => {
    const payload = { name: "bunicorn", list: [1, 2, 3], text: "é".repeat(3000) };
    const res = await srv().fetch("/json", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload) });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ body: payload, type: "application/json" });
  });

  test("malformed JSON: Express's 400, and the worker keeps serving", async () => {
    const res = await srv().fetch("/json", { method: "POST", headers: { "content-type": "application/json" }, body: "{bad" });
    expect(res.status).toBe(400);
    await res.text();
    expect((await srv().fetch("/users/1/posts/2")).status).toBe(200);
  });

  test("cookies: two Set-Cookie headers on a 204", async () => {
    const res = await srv().fetch("/cookies");
    expect(res.status).toBe(204);
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/; HttpOnly"]);
  });

  test("res.write() chunks over time arrive whole; the access line has their bytes", async () => {
    const res = await srv().fetch("/count");
    expect(await res.text()).toBe("1\n2\n3\n");
    expect(statusBytes(await accessLine(srv(), "/count"))).toEqual([200, "6"]);
  });

  test("a body that never ends is received as it is written; the client leaving stops it", async () => {
    const res = await srv().fetch("/ticks");
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = "";
    // Only possible when each write goes out at once: the response never ends.
    while (!text.includes("tick 3\n")) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      text += new TextDecoder().decode(value);
    }
    expect(text.startsWith("tick 1\ntick 2\ntick 3\n")).toBe(true);
    await reader.cancel();
    // The server sees it: `close` on the response (the handler stops its timer), and the access line.
    await srv().b.waitForLog(/ticks: the client left after \d+ ticks/, 5000);
    expect(statusBytes(await accessLine(srv(), "/ticks"))[0]).toBe(200);
  });

  test("an error thrown in a route: Express's 500 page; an unknown path: Express's 404", async () => {
    const boom = await srv().fetch("/boom");
    expect(boom.status).toBe(500);
    expect(await boom.text()).toContain("Error: boom in a route");
    const later = await srv().fetch("/boom-later");
    expect(later.status).toBe(500);
    expect(await later.text()).toContain("boom passed to next");
    const missing = await srv().fetch("/nope");
    expect(missing.status).toBe(404);
    const text = await missing.text();
    expect(text).toContain("Cannot GET /nope");
    expect(statusBytes(await accessLine(srv(), "/nope"))).toEqual([404, String(Buffer.byteLength(text))]);
    expect((await srv().fetch("/users/1/posts/2")).status).toBe(200);
  });

  test("HEAD: Express's headers with its Content-Length, no body", async () => {
    const res = await srv().fetch("/users/1/posts/2", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String('{"params":{"id":"1","post":"2"},"query":{}}'.length));
    expect(await res.text()).toBe("");
  });

  test("req.socket.remoteAddress, req.ip, req.protocol, req.url", async () => {
    const res = await srv().fetch("/peer?x=1");
    const peer = (await res.json()) as Record<string, unknown>;
    expect(peer.protocol).toBe("http");
    expect(peer.url).toBe("/peer?x=1");
    if (mode.unix) expect(peer.remote).toBeNull();
    else {
      expect(peer.remote).toBe("127.0.0.1");
      expect(peer.ip).toBe("127.0.0.1");
    }
  });

  test(mode.gthread ? "served by both threads of the worker" : "served on the worker's main thread", async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < (mode.gthread ? 2 : 1); i++) {
      // A new connection each time, so the kernel (reuse-port) or the threads' accepts spread them.
      const res = await srv().fetch("/thread", { keepalive: false });
      seen.add(((await res.json()) as { threadId: number }).threadId);
    }
    if (mode.gthread) {
      expect(seen.size).toBe(2);
      expect(seen.has(0)).toBe(false);
    } else expect([...seen]).toEqual([0]);
  });

  test("TERM during a slow response: the response completes, exit status 0", async () => {
    const s = srv();
    const slow = s.fetch("/slow");
    await Bun.sleep(100);
    s.b.signal("SIGTERM");
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("slow done");
    expect(await s.b.proc.exited).toBe(0);
  });
});

afterAll(killAll);

test("the Express app without -k node: one ERROR line saying to use -k node, exit status 4; --check-config refuses it too", async () => {
  const b = await startBunicorn([APP, "-b", `127.0.0.1:${await freePort()}`], { ready: null });
  const code = await Promise.race([b.proc.exited, Bun.sleep(15_000).then(() => "still running")]);
  expect(code).toBe(4);
  expect(b.output()).toContain("[ERROR] The app is an Express app, a Node (req, res) handler, not a fetch app: serve it with the Node worker, -k node.");
  expect(b.output()).toContain("Reason: App failed to load.");
  // --check-config says the same, as the one Error: line of a failed check.
  const check = await startBunicorn([APP, "--check-config"], { ready: null });
  expect(await Promise.race([check.proc.exited, Bun.sleep(15_000).then(() => "still running")])).toBe(1);
  expect(check.output().trim()).toBe("Error: worker_class: The app is an Express app, a Node (req, res) handler, not a fetch app: serve it with the Node worker, -k node.");
});
