import { describe, expect, test } from "bun:test";
import { ForbiddenProxyRequest, InvalidProxyHeader, InvalidProxyLine } from "../../src/http/errors.ts";
import { parseProxyHeader, V1_MAX_LENGTH, V2_SIGNATURE, type ProxyMode, type ProxyParseResult } from "../../src/http/proxy-protocol.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: (Uint8Array | number[])[]) => {
  const out: number[] = [];
  for (const p of parts) out.push(...p);
  return new Uint8Array(out);
};
const be16 = (n: number) => [n >> 8, n & 0xff];

/** A v2 header: version/command byte, family byte, then the address block (the length is computed). */
function v2(verCmd: number, fam: number, block: number[] = []): Uint8Array {
  return cat(V2_SIGNATURE, [verCmd, fam], be16(block.length), block);
}
const INET_BLOCK = [192, 0, 2, 7, 10, 0, 0, 1, ...be16(51234), ...be16(443)];
const INET6_BLOCK = [
  ...[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42],
  ...[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  ...be16(65535),
  ...be16(80),
];

/**
 * Feeds `bytes` one byte more at a time: every proper prefix must ask for more, the whole
 * header must give `expected`, and extra bytes after it must not change the result.
 */
function byteByByte(bytes: Uint8Array, mode: ProxyMode): ProxyParseResult {
  for (let i = 0; i < bytes.length; i++) {
    const r = parseProxyHeader(bytes.subarray(0, i), mode);
    if (r.state !== "need-more") throw new Error(`prefix of ${i} bytes: expected need-more, got ${JSON.stringify(r)}`);
  }
  const done = parseProxyHeader(bytes, mode);
  const withRequest = parseProxyHeader(cat(bytes, enc("GET / HTTP/1.1\r\n\r\n")), mode);
  expect(withRequest).toEqual(done);
  return done;
}

function expectError(r: ProxyParseResult, cls: typeof InvalidProxyLine | typeof InvalidProxyHeader): void {
  expect(r.state).toBe("error");
  if (r.state !== "error") return;
  expect(r.error).toBeInstanceOf(cls);
  expect(r.error.status).toBe(400);
}

describe("v1", () => {
  for (const mode of ["v1", "auto"] as const) {
    test(`TCP4, byte by byte (${mode})`, () => {
      const line = "PROXY TCP4 192.0.2.7 10.0.0.1 51234 443\r\n";
      expect(byteByByte(enc(line), mode)).toEqual({ state: "done", consumed: line.length, source: { address: "192.0.2.7", port: 51234, family: "IPv4" } });
    });

    test(`TCP6, byte by byte; the address is normalized (${mode})`, () => {
      const line = "PROXY TCP6 2001:DB8:0:0:0:0:0:42 ::1 0 65535\r\n";
      expect(byteByByte(enc(line), mode)).toEqual({ state: "done", consumed: line.length, source: { address: "2001:db8::42", port: 0, family: "IPv6" } });
    });

    test(`UNKNOWN, with and without the rest of the line (${mode})`, () => {
      for (const line of ["PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff:f::1 ffff:f::2 1 2\r\n"]) {
        expect(byteByByte(enc(line), mode)).toEqual({ state: "done", consumed: line.length, source: null });
      }
    });
  }

  test("the longest line (107 bytes) is accepted; a longer one is an error without a CRLF in sight", () => {
    const addr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const tcp6 = `PROXY TCP6 ${addr} ${addr} 65535 65535\r\n`;
    expect(parseProxyHeader(enc(tcp6), "v1")).toEqual({ state: "done", consumed: 104, source: { address: addr, port: 65535, family: "IPv6" } });
    // The spec's worst case: UNKNOWN followed by the longest TCP6 fields.
    const unknown = `PROXY UNKNOWN ${addr} ${addr} 65535 65535\r\n`;
    expect(unknown.length).toBe(V1_MAX_LENGTH);
    expect(byteByByte(enc(unknown), "v1")).toEqual({ state: "done", consumed: 107, source: null });
    expectError(parseProxyHeader(enc(`PROXY UNKNOWN ${"x".repeat(100)}`), "v1"), InvalidProxyLine);
    // 106 bytes without a line end: still possibly valid.
    expect(parseProxyHeader(enc(`PROXY UNKNOWN ${"x".repeat(92)}`), "v1").state).toBe("need-more");
    expectError(parseProxyHeader(enc(`PROXY UNKNOWN ${"x".repeat(92)}\r\n`), "v1"), InvalidProxyLine);
  });

  const malformed: [string, string][] = [
    ["not a PROXY line (v1 mode)", "GET / HTTP/1.1\r\n\r\n"],
    ["lower-case proxy", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"],
    ["unknown protocol", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"],
    ["missing field", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"],
    ["extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"],
    ["double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"],
    ["trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"],
    ["IPv6 address for TCP4", "PROXY TCP4 ::1 ::1 1 2\r\n"],
    ["IPv4 address for TCP6", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"],
    ["octet over 255", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"],
    ["short IPv4", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"],
    ["bad destination", "PROXY TCP4 1.2.3.4 5.6.7 1 2\r\n"],
    ["bad IPv6", "PROXY TCP6 1::2::3 ::1 1 2\r\n"],
    ["port over 65535", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"],
    ["destination port over 65535", "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n"],
    ["negative port", "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"],
    ["signed port", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"],
    ["port too long", "PROXY TCP4 1.2.3.4 5.6.7.8 000001 2\r\n"],
    ["bare LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"],
    ["bare CR", "PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n"],
    ["control byte", "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n"],
    ["empty protocol", "PROXY \r\n"],
  ];
  for (const [what, line] of malformed) {
    test(`malformed: ${what} → 400`, () => {
      expectError(parseProxyHeader(enc(line), "v1"), InvalidProxyLine);
      if (line.startsWith("PROXY ")) expectError(parseProxyHeader(enc(line), "auto"), InvalidProxyLine);
    });
  }

  test("an error shows as early as the bytes allow", () => {
    expectError(parseProxyHeader(enc("G"), "v1"), InvalidProxyLine);
    expectError(parseProxyHeader(enc("PROXY TCP4 1.2\x00"), "v1"), InvalidProxyLine);
    expectError(parseProxyHeader(enc("PROXY TCP4 1.2\rX"), "v1"), InvalidProxyLine);
  });
});

describe("v2", () => {
  for (const mode of ["v2", "auto"] as const) {
    test(`PROXY over TCP/IPv4, byte by byte (${mode})`, () => {
      const h = v2(0x21, 0x11, INET_BLOCK);
      expect(byteByByte(h, mode)).toEqual({ state: "done", consumed: 28, source: { address: "192.0.2.7", port: 51234, family: "IPv4" } });
    });

    test(`PROXY over TCP/IPv6, byte by byte (${mode})`, () => {
      const h = v2(0x21, 0x21, INET6_BLOCK);
      expect(byteByByte(h, mode)).toEqual({ state: "done", consumed: 52, source: { address: "2001:db8::42", port: 65535, family: "IPv6" } });
    });

    test(`LOCAL: no source, the address block is skipped whatever the family (${mode})`, () => {
      expect(byteByByte(v2(0x20, 0x00), mode)).toEqual({ state: "done", consumed: 16, source: null });
      expect(byteByByte(v2(0x20, 0x11, INET_BLOCK), mode)).toEqual({ state: "done", consumed: 28, source: null });
      expect(byteByByte(v2(0x20, 0xff, [1, 2, 3]), mode)).toEqual({ state: "done", consumed: 19, source: null });
    });
  }

  test("TLVs after the addresses are skipped", () => {
    const tlv = [0x04, ...be16(3), 1, 2, 3]; // PP2_TYPE_NOOP
    const h = v2(0x21, 0x11, [...INET_BLOCK, ...tlv]);
    expect(byteByByte(h, "v2")).toEqual({ state: "done", consumed: 16 + 12 + 6, source: { address: "192.0.2.7", port: 51234, family: "IPv4" } });
  });

  test("PROXY with UNSPEC or UNIX: no source (the real peer stands)", () => {
    expect(byteByByte(v2(0x21, 0x00), "v2")).toEqual({ state: "done", consumed: 16, source: null });
    expect(byteByByte(v2(0x21, 0x31, new Array(216).fill(0)), "v2")).toEqual({ state: "done", consumed: 232, source: null });
  });

  test("IPv4-mapped IPv6 source", () => {
    const block = [...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 9], ...new Array(16).fill(0), ...be16(1), ...be16(2)];
    const r = parseProxyHeader(v2(0x21, 0x21, block), "v2");
    expect(r).toEqual({ state: "done", consumed: 52, source: { address: "::ffff:203.0.113.9", port: 1, family: "IPv6" } });
  });

  test("the largest header (16 + 65535 bytes)", () => {
    const h = v2(0x21, 0x11, [...INET_BLOCK, ...new Array(65535 - 12).fill(0)]);
    expect(h.length).toBe(65551);
    expect(parseProxyHeader(h.subarray(0, 65550), "v2").state).toBe("need-more");
    expect(parseProxyHeader(h, "v2")).toEqual({ state: "done", consumed: 65551, source: { address: "192.0.2.7", port: 51234, family: "IPv4" } });
  });

  const malformed: [string, Uint8Array][] = [
    ["not a v2 header (v2 mode)", enc("GET / HTTP/1.1\r\n\r\n")],
    ["a v1 line in v2 mode", enc("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")],
    ["signature damaged at its last byte", cat(V2_SIGNATURE.subarray(0, 11), [0x0b, 0x21, 0x11, 0, 0])],
    ["version 1", v2(0x11, 0x11, INET_BLOCK)],
    ["version 3", v2(0x31, 0x11, INET_BLOCK)],
    ["command 2", v2(0x22, 0x11, INET_BLOCK)],
    ["DGRAM over IPv4", v2(0x21, 0x12, INET_BLOCK)],
    ["DGRAM over IPv6", v2(0x21, 0x22, INET6_BLOCK)],
    ["INET with UNSPEC transport", v2(0x21, 0x10, INET_BLOCK)],
    ["unknown family", v2(0x21, 0x41, INET_BLOCK)],
    ["INET block too short", v2(0x21, 0x11, INET_BLOCK.slice(0, 11))],
    ["INET6 block too short", v2(0x21, 0x21, INET6_BLOCK.slice(0, 35))],
    ["UNIX block too short", v2(0x21, 0x31, new Array(215).fill(0))],
  ];
  for (const [what, bytes] of malformed) {
    test(`malformed: ${what} → 400`, () => {
      expectError(parseProxyHeader(bytes, "v2"), InvalidProxyHeader);
    });
  }

  test("errors in the fixed part show before the address block arrives", () => {
    expectError(parseProxyHeader(cat(V2_SIGNATURE, [0x11]), "v2"), InvalidProxyHeader);
    expectError(parseProxyHeader(cat(V2_SIGNATURE, [0x21, 0x12]), "auto"), InvalidProxyHeader);
    expectError(parseProxyHeader(cat(V2_SIGNATURE, [0x21, 0x11, 0, 4]), "v2"), InvalidProxyHeader);
    expect(parseProxyHeader(cat(V2_SIGNATURE, [0x21, 0x11, 0, 12]), "v2").state).toBe("need-more");
  });
});

describe("auto", () => {
  test("plain HTTP is not a header: consumed 0", () => {
    for (const start of ["GET / HTTP/1.1\r\n\r\n", "POST /", "PUT /", "PATCH /", "PRI * HTTP/2.0\r\n", "\r\nGET / HTTP/1.1\r\n\r\n", "PROX/"]) {
      expect(parseProxyHeader(enc(start), "auto")).toEqual({ state: "done", consumed: 0, source: null });
    }
  });

  test("a prefix of either signature waits for more", () => {
    for (const start of ["", "P", "PROX", "PROXY", "\r\n", "\r\n\r\n\x00\r\nQUI"]) {
      expect(parseProxyHeader(enc(start), "auto").state).toBe("need-more");
    }
  });

  test("strict modes want their header", () => {
    expectError(parseProxyHeader(v2(0x21, 0x11, INET_BLOCK), "v1"), InvalidProxyLine);
    expect(parseProxyHeader(enc("PROXY"), "v1").state).toBe("need-more");
    expect(parseProxyHeader(V2_SIGNATURE.subarray(0, 5), "v2").state).toBe("need-more");
  });
});

test("error classes carry Gunicorn's names and statuses", () => {
  expect(new InvalidProxyLine().status).toBe(400);
  expect(new InvalidProxyHeader().status).toBe(400);
  const f = new ForbiddenProxyRequest();
  expect([f.name, f.status, f.reason]).toEqual(["ForbiddenProxyRequest", 403, "Forbidden"]);
});
