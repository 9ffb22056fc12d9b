// Shared behaviour suite: response bodies each mode must tell apart without reading them, so
// that none is mistaken for bytes already in memory: a `fetch()` Response passed through (its
// body is a stream, though the Response has a url) and a stream with a statusText arrive whole
// and are logged with the bytes sent, in every mode.
import { expect, test } from "bun:test";
import { ROOT } from "../support/harness.ts";
import { forEachMode } from "./modes.ts";

const APP = `${ROOT}/test/parity/fixtures/bodies-app.ts`;

forEachMode("bodies that are streams", { app: APP, args: ["--access-logfile", "LOG", "--access-logformat", '%(s)s %(B)s "%(r)s"'] }, (srv) => {
  test("a fetch() Response passed through and a stream with a statusText arrive whole, and are logged with their bytes", async () => {
    const s = srv();
    const proxied = await s.fetch("/proxied?p=1");
    expect({ status: proxied.status, body: await proxied.text() }).toEqual({ status: 200, body: "part 0;part 1;part 2;" });
    const named = await s.fetch("/stream-status-text?p=2");
    // (The reason phrase itself differs: Bun.serve always sends the standard one.)
    expect({ status: named.status, body: await named.text() }).toEqual({ status: 200, body: "one two" });
    const lines = await s.waitAccessLines(2);
    expect(lines.find((l) => l.includes("?p=1 "))?.split(" ").slice(0, 2)).toEqual(["200", "21"]);
    expect(lines.find((l) => l.includes("?p=2 "))?.split(" ").slice(0, 2)).toEqual(["200", "7"]);
  });
});

forEachMode("a slice of a file", { app: APP, args: ["--access-logfile", "LOG", "--access-logformat", '%(s)s %(B)s "%(r)s"'] }, (srv) => {
  test("is sent as it is, whatever the Range header, and is logged so", async () => {
    const s = srv();
    const want = (await Bun.file(new URL("./fixtures/static.txt", import.meta.url).pathname).text()).slice(3, 10);
    const plain = await s.fetch("/slice?q=1");
    expect({ status: plain.status, body: await plain.text() }).toEqual({ status: 200, body: want });
    const ranged = await s.fetch("/slice?q=2", { headers: { range: "bytes=0-1" } });
    expect({ status: ranged.status, range: ranged.headers.get("content-range"), body: await ranged.text() }).toEqual({ status: 200, range: null, body: want });
    const head = await s.fetch("/slice?q=3", { method: "HEAD" });
    expect(head.status).toBe(200);
    const lines = await s.waitAccessLines(3);
    expect(["?q=1 ", "?q=2 ", "?q=3 "].map((q) => lines.find((l) => l.includes(q))?.split(" ").slice(0, 2))).toEqual([
      ["200", "7"],
      ["200", "7"],
      ["200", "0"],
    ]);
  });
});
