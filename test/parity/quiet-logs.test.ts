// Shared behaviour suite: quiet logs under attack. A client's fault (a malformed chunked body the
// app was reading) is a 400 and one DEBUG line with no stack, never an [ERROR] with source paths a
// client could flood the error log with; a server fault (the app throws) stays an [ERROR] with its
// stack. The same in every mode.
import { expect, test } from "bun:test";
import { waitFor } from "../support/harness.ts";
import { forEachMode, type Served } from "./modes.ts";

const HEAD = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

/** The log lines written after `from` characters of output. */
function linesAfter(s: Served, from: number): string[] {
  return s.b.output().slice(from).split("\n").filter(Boolean);
}

/** Lines that are an error or part of a stack trace. */
function noisy(lines: string[]): string[] {
  return lines.filter((l) => l.includes("[ERROR]") || /^\s+at /.test(l) || /\.ts:\d+/.test(l));
}

forEachMode("quiet logs", { args: ["--access-logfile", "LOG"] }, (srv) => {
  test("a malformed chunked body is a 400 and one DEBUG line: no [ERROR], no stack", async () => {
    const s = srv();
    const from = s.b.output().length;
    const c = await s.connect();
    c.write(HEAD + "3\r\nabc\r\n");
    // The app is reading the body when the bad chunk comes.
    await Bun.sleep(150);
    c.write("zz\r\nabc\r\n0\r\n\r\n");
    const reply = await c.until((t) => t.includes("\r\n\r\n"), 5000);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    await c.waitClosed(5000);
    // The app's failed read is logged once, at DEBUG, on one line.
    await waitFor("the client error's DEBUG line", () => linesAfter(s, from).find((l) => l.includes("Client error handling request /echo")), 5000);
    await Bun.sleep(200);
    const lines = linesAfter(s, from);
    expect(noisy(lines)).toEqual([]);
    const debug = lines.filter((l) => l.includes("Client error handling request"));
    expect(debug.length).toBe(1);
    expect(debug[0]).toContain("[DEBUG]");
    // The access log has the 400 that went on the wire.
    const access = await waitFor("the 400's access line", () => s.accessLines().find((l) => l.includes("POST /echo")), 5000);
    expect(access).toContain(" 400 ");
    // The worker keeps serving.
    expect(await (await s.fetch("/")).text()).toBe("hello");
  });

  test("many malformed bodies add no [ERROR] line", async () => {
    const s = srv();
    const from = s.b.output().length;
    for (let i = 0; i < 5; i++) {
      const c = await s.connect();
      c.write(HEAD + "2\r\nab\r\n");
      await Bun.sleep(80);
      c.write("2\r\nabXX");
      expect(await c.until((t) => t.includes("\r\n\r\n"), 5000)).toMatch(/^HTTP\/1\.1 400 /);
    }
    await waitFor("5 DEBUG lines", () => (linesAfter(s, from).filter((l) => l.includes("Client error handling request")).length >= 5 ? true : null), 5000);
    await Bun.sleep(200);
    expect(noisy(linesAfter(s, from))).toEqual([]);
  });

  test("a server fault stays an [ERROR] with its stack", async () => {
    const s = srv();
    const from = s.b.output().length;
    const res = await s.fetch("/error");
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("boom");
    const error = await waitFor("the [ERROR] line", () => linesAfter(s, from).find((l) => l.includes("[ERROR]") && l.includes("Error handling request /error")), 5000);
    expect(error).toBeTruthy();
    await waitFor("its stack", () => (noisy(linesAfter(s, from)).some((l) => /^\s+at /.test(l)) ? true : null), 5000);
  });
});
