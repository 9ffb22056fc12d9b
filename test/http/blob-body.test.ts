import { describe, expect, test } from "bun:test";
import { closeSync, openSync } from "node:fs";
import { blobBodyOf, withoutSendfile, BLOB_BODY_DETECTION } from "../../src/http/blob-body.ts";

const self = import.meta.path;

describe("blobBodyOf", () => {
  test("works on this Bun (else file bodies silently lose sendfile)", () => {
    expect(BLOB_BODY_DETECTION).toBe(true);
  });

  test("a Bun.file body: its path, offset 0, and the Blob", () => {
    const bb = blobBodyOf(new Response(Bun.file(self)))!;
    expect(bb.file).toEqual({ path: self, fd: -1, offset: 0 });
    expect((bb.blob as Blob).size).toBe(Bun.file(self).size);
  });

  test("a slice of a file: the slice's offset and size", () => {
    const bb = blobBodyOf(new Response(Bun.file(self).slice(17, 40)))!;
    expect(bb.file).toEqual({ path: self, fd: -1, offset: 17 });
    expect((bb.blob as Blob).size).toBe(23);
  });

  test("a file opened by fd", () => {
    const fd = openSync(self, "r");
    try {
      const bb = blobBodyOf(new Response(Bun.file(fd)))!;
      expect(bb.file).toEqual({ path: null, fd, offset: 0 });
    } finally {
      closeSync(fd);
    }
  });

  test("an in-memory Blob: no file", async () => {
    const bb = blobBodyOf(new Response(new Blob(["hello"], { type: "text/x" })))!;
    expect(bb.file).toBeNull();
    expect(await (bb.blob as Blob).text()).toBe("hello");
  });

  test("stream, string and empty bodies are not Blobs and stay unread", async () => {
    const stream = new Response(new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode("s")), c.close()) }), { headers: { "x-note": "\\n  bodyUsed: false,\\n  FileRef ('/etc/passwd')" } });
    expect(blobBodyOf(stream)).toBeNull();
    expect(stream.bodyUsed).toBe(false);
    expect(await stream.text()).toBe("s");
    const empty = new Response(null, { status: 204 });
    expect(blobBodyOf(empty)).toBeNull();
  });
});

describe("withoutSendfile", () => {
  test("returns in-memory responses as they are", () => {
    const r = new Response("hi");
    expect(withoutSendfile(r)).toBe(r);
  });

  test("replaces a file body by a JavaScript stream with the same bytes, status and headers", async () => {
    const r = withoutSendfile(new Response(Bun.file(self), { status: 203, headers: { "x-a": "1" } }));
    expect(r.status).toBe(203);
    expect(r.headers.get("x-a")).toBe("1");
    expect(blobBodyOf(r)).toBeNull();
    expect(await r.text()).toBe(await Bun.file(self).text());
  });
});
