// Shared behaviour suite: open WebSockets and a graceful stop. As Bun.serve's `stop()` does, a
// stopping worker leaves its WebSockets open (they keep working) until they close or
// `graceful_timeout` ends, when the worker is killed; in every mode. The client then sees 1006
// (no close frame); in gthread reuse-port mode Bun sends 1001 from the thread torn down at the same
// deadline, when that comes before the kill.
import { afterEach, expect, test } from "bun:test";
import { wsClient, type WsClient } from "../support/ws-client.ts";
import { forEachMode } from "./modes.ts";

const APP = new URL("./fixtures/websocket-app.ts", import.meta.url).pathname;
const opened: WsClient[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) (c.ws as WebSocket & { terminate(): void }).terminate();
});

forEachMode("websocket and a graceful stop", { app: APP, args: ["--graceful-timeout", "2"] }, (srv) => {
  test("TERM: an open WebSocket keeps working until graceful_timeout, then the worker is gone", async () => {
    const s = srv();
    const c = await wsClient(s.mode.unix ? `ws+unix://${s.socketPath}:/ws?name=stop` : `ws://127.0.0.1:${s.port}/ws?name=stop`);
    opened.push(c);
    await c.next(); // the open greeting
    const t0 = performance.now();
    s.b.signal("SIGTERM");
    await Bun.sleep(500);
    c.send("during the stop");
    expect(await c.next()).toBe("during the stop");
    const closed = await c.closed(10_000);
    const after = performance.now() - t0;
    // (gthread reuse-port: Bun's 1001 if the thread's teardown beats the arbiter's kill.)
    expect(s.mode.gthread && s.mode.listen === "reuse-port" ? [1001, 1006] : [1006]).toContain(closed.code);
    expect(after).toBeGreaterThan(1500);
    expect(after).toBeLessThan(8000);
    expect(await s.b.proc.exited).toBe(0);
  });
});
