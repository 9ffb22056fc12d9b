// Shared behaviour suite: a real Elysia app (examples/elysia.ts) in every mode: its routes, and
// its `.ws()` routes, which Elysia wires in `app.listen()` and bunicorn wires itself
// (src/app/elysia.ts): the upgrade, the route's handlers, and `app.server.publish()` reaching
// every subscriber (across threads with gthread).
import { afterEach, expect, test } from "bun:test";
import { wsClient, type WsClient } from "../support/ws-client.ts";
import { ROOT, waitFor } from "../support/harness.ts";
import { forEachMode, type Served } from "./modes.ts";

const opened: WsClient[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) (c.ws as WebSocket & { terminate(): void }).terminate();
});

async function ws(s: Served): Promise<WsClient> {
  const c = await wsClient(s.mode.unix ? `ws+unix://${s.socketPath}:/ws` : `ws://127.0.0.1:${s.port}/ws`);
  opened.push(c);
  return c;
}

forEachMode("Elysia", { app: `${ROOT}/examples/elysia.ts:app`, args: ["--access-logfile", "LOG", "--access-logformat", '%(s)s %(b)s "%(r)s"'] }, (srv) => {
  test("routes, params and a body", async () => {
    const s = srv();
    expect(await (await s.fetch("/")).text()).toBe("Hello from Elysia!");
    expect(await (await s.fetch("/users/7")).json()).toMatchObject({ id: "7", pid: expect.any(Number) });
    expect(await (await s.fetch("/echo", { method: "POST", body: "ping", headers: { "content-type": "text/plain" } })).text()).toBe("ping");
  });

  test(".ws(): upgraded (a 101 in the access log), its open and message handlers run, app.server.publish reaches every subscriber", async () => {
    const s = srv();
    const a = await ws(s);
    const b = await ws(s);
    expect([await a.next(), await b.next()]).toEqual(["welcome", "welcome"]);
    a.send("hi");
    expect(await a.next()).toBe("hi");
    a.send("/shout");
    expect([await a.next(), await b.next()]).toEqual(["everyone!", "everyone!"]);
    const upgrades = () => s.accessLines().filter((l) => l.includes("/ws"));
    await waitFor("two access lines for /ws", () => upgrades().length >= 2, 5000, 20);
    expect(upgrades()).toEqual(['101 0 "GET /ws HTTP/1.1"', '101 0 "GET /ws HTTP/1.1"']);
  });
});
