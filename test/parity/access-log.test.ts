// Shared behaviour suite: the access log says what went on the wire, in every mode. Body bytes
// are always known, so `%(b)s` equals `%(B)s` (Gunicorn's `-` is for an unknown count).
import { expect, test } from "bun:test";
import { forEachMode } from "./modes.ts";

/** Requests whose log line must carry the status and the body bytes the client received. */
const CASES: { name: string; path: string; init?: RequestInit }[] = [
  { name: "plain text", path: "/" },
  { name: "JSON", path: "/json" },
  { name: "bytes", path: "/bytes" },
  { name: "a file", path: "/file" },
  { name: "a Range of a file (206)", path: "/file", init: { headers: { range: "bytes=100-199" } } },
  { name: "an unsatisfiable Range (416)", path: "/file", init: { headers: { range: "bytes=999999-" } } },
  { name: "HEAD", path: "/", init: { method: "HEAD" } },
  { name: "HEAD of a file", path: "/file", init: { method: "HEAD" } },
  { name: "a stream", path: "/stream" },
  { name: "a throwing handler (500)", path: "/error" },
  { name: "a missing Bun.file (500)", path: "/missing-file" },
  { name: "204", path: "/status?code=204" },
  { name: "404", path: "/nope" },
];

forEachMode("access log truth", { args: ["--access-logfile", "LOG", "--access-logformat", '%(s)s %(B)s %(b)s "%(r)s"'] }, (srv) => {
  test("each line has the status and body bytes that went on the wire", async () => {
    const s = srv();
    const seen: { name: string; status: number; bytes: number; tag: string }[] = [];
    for (const [i, c] of CASES.entries()) {
      const tag = `t=${i}`;
      const path = c.path + (c.path.includes("?") ? "&" : "?") + tag;
      const res = await s.fetch(path, c.init);
      const body = new Uint8Array(await res.arrayBuffer());
      seen.push({ name: c.name, status: res.status, bytes: body.length, tag });
    }
    const lines = await s.waitAccessLines(CASES.length);
    for (const want of seen) {
      const line = lines.find((l) => l.includes(`${want.tag} HTTP/1.1"`));
      expect({ case: want.name, line: line ?? "(none)" }).toEqual({
        case: want.name,
        line: `${want.status} ${want.bytes} ${want.bytes} "${line?.split('"')[1]}"`,
      });
    }
  });

  test("Range and a missing file are logged with Bun's own status (206, 416, 500)", async () => {
    const s = srv();
    expect((await s.fetch("/file?r=1", { headers: { range: "bytes=0-9" } })).status).toBe(206);
    expect((await s.fetch("/file?r=2", { headers: { range: "bytes=999999-" } })).status).toBe(416);
    expect((await s.fetch("/missing-file?r=3")).status).toBe(500);
    const lines = await s.waitAccessLines(CASES.length + 3);
    expect(lines.find((l) => l.includes("r=1 "))?.split(" ")[0]).toBe("206");
    expect(lines.find((l) => l.includes("r=2 "))?.split(" ")[0]).toBe("416");
    expect(lines.find((l) => l.includes("r=3 "))?.split(" ")[0]).toBe("500");
  });
});
