import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "bun:test";
import { ConfigError } from "../../src/config/setting.ts";
import * as v from "../../src/config/validators.ts";

const NAME = "my_setting";

/** Expects `fn` to throw a ConfigError whose message names the setting. */
function rejects(fn: () => unknown, name = NAME): ConfigError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const e = err as ConfigError;
  expect(e.message).toContain(name);
  expect(e.message).not.toContain("\n");
  expect(e.exitCode).toBe(1);
  return e;
}

describe("parseIntLiteral", () => {
  test.each([
    ["10", 10],
    ["0", 0],
    ["-7", -7],
    ["+7", 7],
    ["0x1F", 31],
    ["0X1f", 31],
    ["0o22", 18],
    ["0O22", 18],
    ["022", 18],
    ["0022", 18],
    ["0b11", 3],
    ["1_000", 1000],
    ["  42  ", 42],
  ] as const)("%p -> %p", (raw, want) => {
    expect(v.parseIntLiteral(raw)).toBe(want);
  });
  test.each(["", "abc", "1.5", "08", "0x", "0o8", "0b2", "1e3", "12abc", "9007199254740993"])("%p -> null", (raw) => {
    expect(v.parseIntLiteral(raw)).toBeNull();
  });
});

describe("posInt", () => {
  test("accepts 0, positive numbers and integer strings", () => {
    expect(v.posInt(0, NAME)).toBe(0);
    expect(v.posInt(5, NAME)).toBe(5);
    expect(v.posInt("12", NAME)).toBe(12);
    expect(v.posInt("0x10", NAME)).toBe(16);
  });
  test("rejects negatives, fractions, non-numbers", () => {
    expect(rejects(() => v.posInt(-1, NAME)).message).toContain(">= 0");
    rejects(() => v.posInt("-3", NAME));
    rejects(() => v.posInt(1.5, NAME));
    rejects(() => v.posInt("abc", NAME));
    rejects(() => v.posInt(null, NAME));
    rejects(() => v.posInt(true, NAME));
    rejects(() => v.posInt(Number.NaN, NAME));
  });
});

describe("positiveInt", () => {
  test("accepts integers >= 1", () => {
    expect(v.positiveInt(1, NAME)).toBe(1);
    expect(v.positiveInt("3", NAME)).toBe(3);
  });
  test("rejects 0 and below", () => {
    expect(rejects(() => v.positiveInt(0, NAME)).message).toContain(">= 1");
    rejects(() => v.positiveInt("0", NAME));
    rejects(() => v.positiveInt(-2, NAME));
    rejects(() => v.positiveInt("two", NAME));
  });
});

describe("intRange", () => {
  const r = v.intRange(0, 8190);
  test("accepts the bounds and values inside", () => {
    expect(r(0, NAME)).toBe(0);
    expect(r(8190, NAME)).toBe(8190);
    expect(r("4094", NAME)).toBe(4094);
  });
  test("rejects values outside", () => {
    expect(rejects(() => r(8191, NAME)).message).toContain("from 0 to 8190");
    rejects(() => r(-1, NAME));
    rejects(() => r("x", NAME));
  });
});

describe("seconds", () => {
  test("accepts non-negative numbers and numeric strings, fractions allowed", () => {
    expect(v.seconds(0, NAME)).toBe(0);
    expect(v.seconds(2.5, NAME)).toBe(2.5);
    expect(v.seconds("30", NAME)).toBe(30);
    expect(v.seconds("0.25", NAME)).toBe(0.25);
  });
  test("rejects negatives, empty, non-numbers, infinities", () => {
    rejects(() => v.seconds(-1, NAME));
    rejects(() => v.seconds("", NAME));
    rejects(() => v.seconds("   ", NAME));
    rejects(() => v.seconds("abc", NAME));
    rejects(() => v.seconds(Infinity, NAME));
    rejects(() => v.seconds(null, NAME));
  });
});

describe("bool", () => {
  test.each([
    [true, true],
    [false, false],
    ["true", true],
    ["false", false],
    ["1", true],
    ["0", false],
    ["TRUE", true],
    [" yes ", true],
    ["on", true],
    ["no", false],
    ["off", false],
    ["", false],
    [1, true],
    [0, false],
  ] as const)("%p -> %p", (raw, want) => {
    expect(v.bool(raw, NAME)).toBe(want);
  });
  test("rejects other values", () => {
    expect(rejects(() => v.bool("maybe", NAME)).message).toContain("expected true or false");
    rejects(() => v.bool(2, NAME));
    rejects(() => v.bool(null, NAME));
    rejects(() => v.bool({}, NAME));
  });
  test("optionalBool keeps null/undefined as null", () => {
    expect(v.optionalBool(null, NAME)).toBeNull();
    expect(v.optionalBool(undefined, NAME)).toBeNull();
    expect(v.optionalBool("0", NAME)).toBe(false);
    rejects(() => v.optionalBool("perhaps", NAME));
  });
});

describe("string, optionalString, optionalPath", () => {
  test("accept", () => {
    expect(v.string("x", NAME)).toBe("x");
    expect(v.string(5, NAME)).toBe("5");
    expect(v.optionalString(null, NAME)).toBeNull();
    expect(v.optionalString("", NAME)).toBe("");
    expect(v.optionalPath(null, NAME)).toBeNull();
    expect(v.optionalPath("/tmp/x", NAME)).toBe("/tmp/x");
  });
  test("reject", () => {
    rejects(() => v.string({}, NAME));
    rejects(() => v.string(null, NAME));
    rejects(() => v.optionalString([], NAME));
    rejects(() => v.optionalPath("", NAME));
  });
});

describe("stringList", () => {
  test("comma form, trimmed, empties dropped", () => {
    expect(v.stringList("a, b ,c", NAME)).toEqual(["a", "b", "c"]);
    expect(v.stringList("a,,b,", NAME)).toEqual(["a", "b"]);
    expect(v.stringList("", NAME)).toEqual([]);
    expect(v.stringList("single", NAME)).toEqual(["single"]);
  });
  test("JSON array form (commas inside items kept)", () => {
    expect(v.stringList('["a,b", "c"]', NAME)).toEqual(["a,b", "c"]);
    expect(v.stringList(" [] ", NAME)).toEqual([]);
  });
  test("arrays and null", () => {
    const arr = ["x", "y"];
    const out = v.stringList(arr, NAME);
    expect(out).toEqual(["x", "y"]);
    expect(out).not.toBe(arr);
    expect(v.stringList(null, NAME)).toEqual([]);
    expect(v.stringList(undefined, NAME)).toEqual([]);
  });
  test("rejects bad JSON, non-string items, other types", () => {
    expect(rejects(() => v.stringList("[a, b", NAME)).message).toContain("JSON array");
    rejects(() => v.stringList("[1, 2]", NAME));
    rejects(() => v.stringList(["a", 1], NAME));
    rejects(() => v.stringList(42, NAME));
    rejects(() => v.stringList({ a: "b" }, NAME));
  });
});

describe("stringDict", () => {
  test("accepts objects of strings and JSON objects", () => {
    expect(v.stringDict({ A: "1" }, NAME)).toEqual({ A: "1" });
    expect(v.stringDict('{"X-FORWARDED-PROTO": "https"}', NAME)).toEqual({ "X-FORWARDED-PROTO": "https" });
    expect(v.stringDict({}, NAME)).toEqual({});
  });
  test("rejects non-objects, arrays, bad JSON and non-string values", () => {
    rejects(() => v.stringDict("{bad", NAME));
    rejects(() => v.stringDict("[]", NAME));
    rejects(() => v.stringDict(["a"], NAME));
    rejects(() => v.stringDict(null, NAME));
    rejects(() => v.stringDict(3, NAME));
    expect(rejects(() => v.stringDict({ K: 1 }, NAME)).message).toContain("K");
  });
});

describe("dict", () => {
  test("accepts any object, JSON, and null/undefined as {}", () => {
    expect(v.dict({ a: { b: [1] } }, NAME)).toEqual({ a: { b: [1] } });
    expect(v.dict('{"version": 1}', NAME)).toEqual({ version: 1 });
    expect(v.dict(null, NAME)).toEqual({});
    expect(v.dict(undefined, NAME)).toEqual({});
  });
  test("rejects arrays, scalars and bad JSON", () => {
    rejects(() => v.dict([1], NAME));
    rejects(() => v.dict("[1]", NAME));
    rejects(() => v.dict("{nope", NAME));
    rejects(() => v.dict(5, NAME));
    rejects(() => v.dict('"str"', NAME));
  });
});

describe("oneOf", () => {
  const level = v.oneOf(["debug", "info", "TLS"] as const);
  test("case-insensitive input, canonical output", () => {
    expect(level("debug", NAME)).toBe("debug");
    expect(level(" INFO ", NAME)).toBe("info");
    expect(level("tls", NAME)).toBe("TLS");
  });
  test("rejects others, listing the choices", () => {
    const e = rejects(() => level("verbose", NAME));
    expect(e.message).toContain("debug, info, TLS");
    rejects(() => level(1, NAME));
    rejects(() => level(null, NAME));
  });
});

describe("umask", () => {
  test.each([
    ["0o22", 0o22],
    ["022", 0o22],
    ["0x12", 0x12],
    [18, 18],
    ["18", 18],
    [0, 0],
    ["0o777", 0o777],
  ] as const)("%p -> %p", (raw, want) => {
    expect(v.umask(raw, NAME)).toBe(want);
  });
  test("rejects out of range and garbage", () => {
    rejects(() => v.umask(0o1000, NAME));
    rejects(() => v.umask(-1, NAME));
    rejects(() => v.umask("0o9", NAME));
    rejects(() => v.umask("rwx", NAME));
  });
});

describe("addressList", () => {
  test("accepts IPv4, IPv6, CIDR and *", () => {
    expect(v.addressList("127.0.0.1,::1", NAME)).toEqual(["127.0.0.1", "::1"]);
    expect(v.addressList("10.0.0.0/8, 192.168.1.0/24", NAME)).toEqual(["10.0.0.0/8", "192.168.1.0/24"]);
    expect(v.addressList("2001:db8::/32,fe80::1/128", NAME)).toEqual(["2001:db8::/32", "fe80::1/128"]);
    expect(v.addressList("*", NAME)).toEqual(["*"]);
    expect(v.addressList(["::ffff:10.0.0.1", "1:2:3:4:5:6:7:8"], NAME)).toEqual(["::ffff:10.0.0.1", "1:2:3:4:5:6:7:8"]);
    expect(v.addressList("0.0.0.0/0", NAME)).toEqual(["0.0.0.0/0"]);
  });
  test("rejects hostnames, bad octets, bad prefixes, bad v6", () => {
    expect(rejects(() => v.addressList("localhost", NAME)).message).toContain("localhost");
    rejects(() => v.addressList("256.0.0.1", NAME));
    rejects(() => v.addressList("10.0.0.0/33", NAME));
    rejects(() => v.addressList("::1/129", NAME));
    rejects(() => v.addressList("1.2.3.4/8/9", NAME));
    rejects(() => v.addressList("1:2:3:4:5:6:7:8:9", NAME));
    rejects(() => v.addressList("1::2::3", NAME));
    rejects(() => v.addressList("1.2.3", NAME));
    rejects(() => v.addressList("127.0.0.1,nope", NAME));
  });
  test("rejects what the proxy_allow_ips matcher would refuse in a worker (malformed IPv6)", () => {
    for (const bad of [":1::", "::1:", "1:::2", ":::", "1::2.3.4.5:6", ":1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:"]) {
      expect(rejects(() => v.addressList(`127.0.0.1,${bad}`, NAME)).message).toContain(JSON.stringify(bad));
    }
  });
});

describe("hook", () => {
  const h = v.hook<(...a: unknown[]) => void>(2);
  test("accepts functions up to the arity, PATH#export strings, and null", () => {
    const f0 = () => {};
    const f2 = (_a: unknown, _b: unknown) => {};
    expect(h(f0, NAME)).toBe(f0);
    expect(h(f2, NAME)).toBe(f2);
    expect(h(async (_a: unknown) => {}, NAME)).toBeFunction();
    expect(h("./hooks.ts#onStart", NAME) as unknown).toBe("./hooks.ts#onStart");
    expect(h(null, NAME)).toBeNull();
    expect(h(undefined, NAME)).toBeNull();
  });
  test("rejects functions with too many parameters and other values", () => {
    const e = rejects(() => h((_a: unknown, _b: unknown, _c: unknown) => {}, NAME));
    expect(e.message).toContain("at most 2");
    expect(e.message).toContain("takes 3");
    rejects(() => h("no-hash-here", NAME));
    rejects(() => h("./x.ts#", NAME));
    rejects(() => h("./x.ts#1bad", NAME));
    rejects(() => h(42, NAME));
  });
});

describe("userOrId", () => {
  test("names, numeric ids, empty/null", () => {
    expect(v.userOrId("www-data", NAME)).toBe("www-data");
    expect(v.userOrId("1000", NAME)).toBe(1000);
    expect(v.userOrId(0, NAME)).toBe(0);
    expect(v.userOrId("", NAME)).toBeNull();
    expect(v.userOrId(null, NAME)).toBeNull();
  });
  test("rejects negative ids and other types", () => {
    rejects(() => v.userOrId(-1, NAME));
    rejects(() => v.userOrId(1.5, NAME));
    rejects(() => v.userOrId({}, NAME));
    rejects(() => v.userOrId(true, NAME));
  });
});

describe("syslogAddress", () => {
  test.each(["udp://localhost:514", "tcp://10.0.0.1:601", "udp://[::1]:514", "udp://loghost", "unix:///dev/log", "unix:///dev/log#dgram", "unix:///run/x#stream"])(
    "accepts %p",
    (s) => {
      expect(v.syslogAddress(s, NAME)).toBe(s);
    },
  );
  test.each(["localhost:514", "http://x:1", "unix://", "unix:///dev/log#raw", "udp://host:port", "udp://a b:1"])("rejects %p", (s) => {
    rejects(() => v.syslogAddress(s, NAME));
  });
});

describe("statsdAddress", () => {
  test("accepts HOST:PORT, [v6]:PORT, unix://PATH; empty and null are null", () => {
    expect(v.statsdAddress("localhost:8125", NAME)).toBe("localhost:8125");
    expect(v.statsdAddress("[::1]:8125", NAME)).toBe("[::1]:8125");
    expect(v.statsdAddress("unix:///tmp/statsd.sock", NAME)).toBe("unix:///tmp/statsd.sock");
    expect(v.statsdAddress("", NAME)).toBeNull();
    expect(v.statsdAddress(null, NAME)).toBeNull();
  });
  test("rejects missing or bad ports", () => {
    rejects(() => v.statsdAddress("localhost", NAME));
    rejects(() => v.statsdAddress("localhost:99999", NAME));
    rejects(() => v.statsdAddress("localhost:abc", NAME));
    rejects(() => v.statsdAddress("unix://", NAME));
  });
});

describe("existingFile / existingDir / optionalDir", () => {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-validators-"));
  const file = join(dir, "cert.pem");
  writeFileSync(file, "x");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("existingFile", () => {
    expect(v.existingFile(file, NAME)).toBe(file);
    expect(v.existingFile(null, NAME)).toBeNull();
    expect(rejects(() => v.existingFile(join(dir, "missing.pem"), NAME)).message).toContain("no such file");
    rejects(() => v.existingFile(dir, NAME));
    rejects(() => v.existingFile("", NAME));
  });
  test("existingDir", () => {
    expect(v.existingDir(dir, NAME)).toBe(dir);
    expect(rejects(() => v.existingDir(join(dir, "nope"), NAME)).message).toContain("no such directory");
    rejects(() => v.existingDir(file, NAME));
    rejects(() => v.existingDir(null, NAME));
  });
  test("optionalDir", () => {
    expect(v.optionalDir(null, NAME)).toBeNull();
    expect(v.optionalDir("", NAME)).toBeNull();
    expect(v.optionalDir(dir, NAME)).toBe(dir);
    rejects(() => v.optionalDir(file, NAME));
  });
});

describe("classRef", () => {
  test("accepts names, egg: and PATH#Export refs (trimmed) and classes", () => {
    class MyWorker {}
    expect(v.classRef("sync", NAME)).toBe("sync");
    expect(v.classRef(" gthread ", NAME)).toBe("gthread");
    expect(v.classRef("egg:pkg#name", NAME)).toBe("egg:pkg#name");
    expect(v.classRef("./w.ts#MyWorker", NAME)).toBe("./w.ts#MyWorker");
    expect(v.classRef(MyWorker, NAME)).toBe(MyWorker);
  });
  test("rejects empty strings and non-strings", () => {
    rejects(() => v.classRef("", NAME));
    rejects(() => v.classRef("   ", NAME));
    rejects(() => v.classRef(3, NAME));
    rejects(() => v.classRef(null, NAME));
  });
});

describe("notApplicable", () => {
  const na = v.notApplicable(v.optionalString, (x) => x === null, "Python only");
  test("accepts the default value", () => {
    expect(na(null, NAME)).toBeNull();
    expect(na(undefined, NAME)).toBeNull();
  });
  test("rejects any other value, quoting the reason", () => {
    const e = rejects(() => na("/some/path", NAME));
    expect(e.message).toBe(`Setting ${NAME} is not applicable on Bun: Python only`);
  });
  test("inner validation runs first", () => {
    const e = rejects(() => na({}, NAME));
    expect(e.message).toContain("Invalid value");
  });
});
