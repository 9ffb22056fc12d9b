import { describe, expect, test } from "bun:test";
import { BindError, formatBind, parseBind, resolveBind, type BindAddress } from "../../src/net/index.ts";

const accept: Array<[string, BindAddress]> = [
  ["127.0.0.1:8000", { kind: "tcp", host: "127.0.0.1", port: 8000, family: 4 }],
  ["0.0.0.0:8000", { kind: "tcp", host: "0.0.0.0", port: 8000, family: 4 }],
  ["127.0.0.1", { kind: "tcp", host: "127.0.0.1", port: 8000, family: 4 }],
  ["localhost:8000", { kind: "tcp", host: "localhost", port: 8000, family: 4 }],
  ["localhost", { kind: "tcp", host: "localhost", port: 8000, family: 4 }],
  ["LocalHost:5000", { kind: "tcp", host: "localhost", port: 5000, family: 4 }],
  ["example.com:80", { kind: "tcp", host: "example.com", port: 80, family: 4 }],
  [":8080", { kind: "tcp", host: "0.0.0.0", port: 8080, family: 4 }],
  ["tcp://127.0.0.1:9000", { kind: "tcp", host: "127.0.0.1", port: 9000, family: 4 }],
  ["[::1]:8000", { kind: "tcp", host: "::1", port: 8000, family: 6 }],
  ["[::1]", { kind: "tcp", host: "::1", port: 8000, family: 6 }],
  ["[::]:0", { kind: "tcp", host: "::", port: 0, family: 6 }],
  ["[FE80::1%lo]:81", { kind: "tcp", host: "fe80::1%lo", port: 81, family: 6 }],
  ["127.0.0.1:65535", { kind: "tcp", host: "127.0.0.1", port: 65535, family: 4 }],
  ["unix:/tmp/app.sock", { kind: "unix", path: "/tmp/app.sock" }],
  ["unix:///tmp/app.sock", { kind: "unix", path: "/tmp/app.sock" }],
  ["unix:relative.sock", { kind: "unix", path: "relative.sock" }],
  ["fd://3", { kind: "fd", fd: 3 }],
  ["fd://0", { kind: "fd", fd: 0 }],
  ["  127.0.0.1:8000  ", { kind: "tcp", host: "127.0.0.1", port: 8000, family: 4 }],
];

const reject: Array<[string, RegExp]> = [
  ["", /empty address/],
  ["   ", /empty address/],
  ["127.0.0.1:", /empty port/],
  ["127.0.0.1:http", /"http" is not a valid port/],
  ["127.0.0.1:65536", /port 65536 is out of range/],
  ["127.0.0.1:99999", /out of range/],
  ["127.0.0.1:-1", /"-1" is not a valid port/],
  ["127.0.0.1:80x", /"80x" is not a valid port/],
  ["::1", /IPv6 addresses must be written in brackets/],
  ["::1:8000", /brackets/],
  ["[::1", /missing '\]'/],
  ["[::1]8000", /unexpected "8000" after '\]'/],
  ["[::1]:", /empty port/],
  ["[not-v6]:80", /"not-v6" is not a valid IPv6 address/],
  ["[127.0.0.1]:80", /is not a valid IPv6 address/],
  ["300.1.1.1:80", /"300.1.1.1" is not a valid IPv4 address/],
  ["1.2.3:80", /not a valid IPv4 address/],
  ["bad host:80", /whitespace/],
  ["under_score!:80", /not a valid host name/],
  ["-leading.dash", /not a valid host name/],
  ["unix:", /empty unix socket path/],
  ["unix://", /empty unix socket path/],
  ["fd://", /is not a valid file descriptor/],
  ["fd://x", /"x" is not a valid file descriptor/],
  ["fd://-1", /not a valid file descriptor/],
  ["http://127.0.0.1:80", /unsupported scheme "http"/],
];

describe("parseBind", () => {
  test.each(accept)("accepts %p", (spec, expected) => {
    expect(parseBind(spec)).toEqual(expected);
  });

  test.each(reject)("rejects %p", (spec, message) => {
    let caught: unknown;
    try {
      parseBind(spec);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BindError);
    const err = caught as BindError;
    expect(err.message).toMatch(message);
    expect(err.message).toContain(JSON.stringify(spec));
    expect(err.message).not.toContain("\n");
    expect(err.spec).toBe(spec);
  });

  test("uses the given default port", () => {
    expect(parseBind("0.0.0.0", 5000)).toEqual({ kind: "tcp", host: "0.0.0.0", port: 5000, family: 4 });
    expect(parseBind("[::]", 5000)).toEqual({ kind: "tcp", host: "::", port: 5000, family: 6 });
    expect(() => parseBind("0.0.0.0", 70000)).toThrow(BindError);
  });
});

describe("formatBind", () => {
  test("formats like gunicorn's 'Listening at'", () => {
    expect(formatBind(parseBind("127.0.0.1:8000"))).toBe("http://127.0.0.1:8000");
    expect(formatBind(parseBind("[::1]:8000"))).toBe("http://[::1]:8000");
    expect(formatBind(parseBind("unix:/tmp/x.sock"))).toBe("unix:/tmp/x.sock");
    expect(formatBind(parseBind("unix:///tmp/x.sock"))).toBe("unix:/tmp/x.sock");
    expect(formatBind(parseBind("fd://3"))).toBe("fd://3");
  });
});

describe("resolveBind", () => {
  test("resolves localhost to an IP literal and leaves literals alone", async () => {
    const r = await resolveBind(parseBind("localhost:8123"));
    expect(r.kind).toBe("tcp");
    if (r.kind !== "tcp") throw new Error("unreachable");
    expect(["127.0.0.1", "::1"]).toContain(r.host);
    expect(r.port).toBe(8123);
    const lit = parseBind("[::1]:1");
    expect(await resolveBind(lit)).toBe(lit);
    const unix = parseBind("unix:/x");
    expect(await resolveBind(unix)).toBe(unix);
  });

  test("an unresolvable name is a BindError naming it", async () => {
    await expect(resolveBind(parseBind("no-such-host.invalid:80"))).rejects.toThrow(/no-such-host\.invalid/);
  });
});
