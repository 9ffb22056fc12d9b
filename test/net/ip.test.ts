import { describe, expect, test } from "bun:test";
import { formatIpv6, ipMatcher, isIpOrNetwork, parseIp, parseIpv6, parseNetwork } from "../../src/net/index.ts";

describe("ip", () => {
  test("parse and format", () => {
    expect(parseIp("127.0.0.1")).toEqual(new Uint8Array([127, 0, 0, 1]));
    for (const bad of ["127.1", "01.2.3.4", "1.2.3.4.5", "", "::1::", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "1.2.3.4::", "::1.2.3", "12345::", ":1", "1:"]) {
      expect(parseIp(bad)).toBeNull();
    }
    const cases: [string, string][] = [
      ["::", "::"],
      ["::1", "::1"],
      ["2001:0DB8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"],
      ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
      ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
      ["1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"],
      ["::ffff:10.1.2.3", "::ffff:10.1.2.3"],
      ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ];
    for (const [input, out] of cases) expect(formatIpv6(parseIpv6(input)!)).toBe(out);
  });

  test("allow lists: exact addresses, CIDR networks, *, IPv4-mapped peers", () => {
    const m = ipMatcher(["127.0.0.1", "::1", "10.0.0.0/8", "2001:db8::/32", "192.168.1.128/25"]);
    expect(["127.0.0.1", "::1", "10.255.0.1", "2001:db8:ffff::1", "192.168.1.200", "::ffff:127.0.0.1", "::ffff:10.9.9.9"].map(m)).toEqual(new Array(7).fill(true));
    expect(["127.0.0.2", "::2", "11.0.0.1", "2001:db9::1", "192.168.1.127", "", "nonsense"].map(m)).toEqual(new Array(7).fill(false));
    expect(ipMatcher(["*"])("203.0.113.1")).toBe(true);
    expect(ipMatcher(["0.0.0.0/0"])("203.0.113.1")).toBe(true);
    expect(ipMatcher(["0.0.0.0/0"])("::2")).toBe(false);
    expect(ipMatcher(["::ffff:10.0.0.0/104"])("10.1.1.1")).toBe(true);
    expect(ipMatcher([])("127.0.0.1")).toBe(false);
    expect(() => ipMatcher(["10.0.0.0/33"])).toThrow(TypeError);
    expect(() => ipMatcher(["example.com"])).toThrow(TypeError);
  });
});

describe("networks", () => {
  test("parseNetwork: an address is a network of one, a prefix fits the family", () => {
    expect(parseNetwork("10.0.0.0/8")).toEqual({ bytes: new Uint8Array([10, 0, 0, 0]), prefix: 8 });
    expect(parseNetwork("127.0.0.1")).toEqual({ bytes: new Uint8Array([127, 0, 0, 1]), prefix: 32 });
    expect(parseNetwork("::1")?.prefix).toBe(128);
    expect(parseNetwork("2001:db8::/32")?.prefix).toBe(32);
    for (const bad of ["10.0.0.0/33", "::1/129", "1.2.3.4/", "1.2.3.4/x", "1.2.3.4/8/9", "/8", "*"]) expect(parseNetwork(bad)).toBeNull();
  });

  test("isIpOrNetwork", () => {
    expect(isIpOrNetwork("::")).toBe(true);
    expect(isIpOrNetwork("1.2.3.4/32")).toBe(true);
    expect(isIpOrNetwork("1.2.3.4/x")).toBe(false);
    expect(isIpOrNetwork("12345::")).toBe(false);
  });

  test("what isIpOrNetwork refuses, the matcher refuses, and the other way round", () => {
    const samples = [":1::", "::1:", "1:::2", ":::", "1::2.3.4.5:6", ":1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:", "10.0.0.0/8", "::ffff:10.0.0.0/104", "::", "256.0.0.1", "localhost"];
    for (const item of samples) {
      let matcherAccepts = true;
      try {
        ipMatcher([item]);
      } catch {
        matcherAccepts = false;
      }
      expect([item, isIpOrNetwork(item)]).toEqual([item, matcherAccepts]);
    }
  });
});
