// Shared behaviour suite: a worker's graceful stop loses no keep-alive request, in every mode.
// A client keeps one connection busy (a request every 40 ms, well inside the drain's 1 s
// grace) while HUP retires its worker: every request is answered, the stopping worker's last
// answer says `Connection: close` and the connection then closes, and that answer has its access
// line. (Loads with every reload kind: test/integration/keepalive-reload.test.ts.)
import { expect, test } from "bun:test";
import { parseAll } from "../support/http-client.ts";
import { forEachMode } from "./modes.ts";

forEachMode("keep-alive across a graceful stop", { args: ["--access-logfile", "LOG", "--access-logformat", "%(s)s %(U)s?%(q)s"] }, (srv) => {
  test("HUP: the old worker answers the connection's next request with Connection: close, and it is logged", async () => {
    const s = srv();
    const c = await s.connect();
    const ask = async (i: number) => {
      c.write(`GET /pid?n=${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await c.until((t) => parseAll(t).length === i + 1 || c.closed, 3000);
      return parseAll(c.text, c.closed)[i];
    };
    const first = await ask(0);
    expect(first?.status).toBe(200);
    const oldPid = first!.body;
    s.b.signal("SIGHUP");
    // Busy until the stopping worker says close (bounded: HUP retires the worker within seconds).
    let i = 1;
    const deadline = Date.now() + 15_000;
    while (!c.closed && Date.now() < deadline) {
      await Bun.sleep(40);
      const r = await ask(i);
      expect({ request: i, answered: r !== undefined }).toEqual({ request: i, answered: true });
      i++;
      if (r!.headers["connection"] === "close") break;
    }
    const all = parseAll(c.text, true);
    expect(all.length).toBe(i);
    const last = all[i - 1]!;
    expect(last.headers["connection"]).toBe("close");
    expect(last.body).toBe(oldPid);
    expect(all.slice(0, -1).every((r) => r.headers["connection"] === undefined && r.body === oldPid)).toBe(true);
    await c.waitClosed(3000);
    // The drained answer has its access line, as every other.
    const lines = await s.waitAccessLines(i, 5000);
    expect(lines).toContain(`200 /pid?n=${i - 1}`);
  }, 30_000);
});
