/**
 * PROXY protocol end to end: a real bunicorn with `--proxy-protocol` (shared-socket mode, the
 * own HTTP engine) logs the PROXY source address, serves plain HTTP too (`auto`), and refuses
 * headers from a peer outside `--proxy-allow-from` with 403.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, parseAll } from "../support/http-client.ts";
import { FIXTURES, freePort, get, killAll, startBunicorn, waitFor } from "../support/harness.ts";

afterEach(killAll);
afterAll(killAll);

const lines = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : []);
const REQUEST = "GET /sized?via=proxy HTTP/1.1\r\nHost: t.example\r\nConnection: close\r\n\r\n";

test("--proxy-protocol: the access log line starts with the PROXY source; plain HTTP still works", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-proxy-"));
  const access = join(dir, "access.log");
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--proxy-protocol", "--access-logfile", access], { workers: 1 });
  expect(b.output()).toMatch(/\(shared-socket mode\)/);

  const c = await connect(port);
  c.write("PROXY TCP4 203.0.113.9 127.0.0.1 40000 " + port + "\r\n" + REQUEST);
  await c.waitClosed(5000);
  expect(parseAll(c.text, true).map((r) => [r.status, r.body])).toEqual([[200, "0123456789"]]);
  await waitFor("the access line", () => lines(access).length === 1);
  expect(lines(access)[0]).toMatch(/^203\.0\.113\.9 - - \[[^\]]+\] "GET \/sized\?via=proxy HTTP\/1\.1" 200 10 /);

  // v2 binary header, IPv6 source.
  const v2 = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x21, 0, 36, 0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 0x05, ...new Array(15).fill(0), 1, 0x9c, 0x40, 0, 80]);
  const c2 = await connect(port);
  c2.write(Buffer.concat([v2, Buffer.from(REQUEST)]));
  await c2.waitClosed(5000);
  expect(parseAll(c2.text, true).map((r) => r.status)).toEqual([200]);
  await waitFor("the second access line", () => lines(access).length === 2);
  expect(lines(access)[1]).toStartWith("2001:db8::5 - - [");

  // `--proxy-protocol` alone is `auto`: a client without a header is served as itself.
  const res = await get(`http://127.0.0.1:${port}/sized`);
  expect(res.status).toBe(200);
  await waitFor("the third access line", () => lines(access).length === 3);
  expect(lines(access)[2]).toStartWith("127.0.0.1 - - [");
  expect(await b.stop()).toBe(0);
});

test("--proxy-allow-from 10.0.0.1 refuses a PROXY header from 127.0.0.1 with 403", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-proxy-"));
  const access = join(dir, "access.log");
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--proxy-protocol", "--proxy-allow-from", "10.0.0.1", "--access-logfile", access], {
    workers: 1,
  });
  const c = await connect(port);
  c.write("PROXY TCP4 203.0.113.9 127.0.0.1 40000 " + port + "\r\n" + REQUEST);
  await c.waitClosed(5000);
  expect(parseAll(c.text, true).map((r) => [r.status, r.body, r.headers["connection"]])).toEqual([[403, "Forbidden\n", "close"]]);
  await waitFor("the access line", () => lines(access).length === 1);
  expect(lines(access)[0]).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "[^"]*" 403 /);
  expect(await b.stop()).toBe(0);
});
