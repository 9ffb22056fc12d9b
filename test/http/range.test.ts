import { describe, expect, test } from "bun:test";
import { resolveRange } from "../../src/http/range.ts";

describe("resolveRange", () => {
  test("no header, other units, several ranges or garbage: the whole body", () => {
    for (const v of [null, "items=0-1", "bytes=0-1,5-6", "bytes=abc", "bytes=", "bytes=-", "bytes=5-2"]) {
      expect(resolveRange(v, 100)).toEqual({ kind: "all" });
    }
  });

  test("first-last, open-ended and suffix ranges", () => {
    expect(resolveRange("bytes=0-99", 1000)).toEqual({ kind: "part", start: 0, end: 100 });
    expect(resolveRange("bytes=10-", 1000)).toEqual({ kind: "part", start: 10, end: 1000 });
    expect(resolveRange("bytes=-10", 1000)).toEqual({ kind: "part", start: 990, end: 1000 });
    expect(resolveRange("bytes=-5000", 1000)).toEqual({ kind: "part", start: 0, end: 1000 });
    expect(resolveRange("bytes=900-5000", 1000)).toEqual({ kind: "part", start: 900, end: 1000 });
    expect(resolveRange(" bytes=1-1 ", 1000)).toEqual({ kind: "part", start: 1, end: 2 });
  });

  test("a start at or past the end, or an empty suffix: unsatisfiable", () => {
    expect(resolveRange("bytes=1000-", 1000)).toEqual({ kind: "unsatisfiable" });
    expect(resolveRange("bytes=2000000-", 1000)).toEqual({ kind: "unsatisfiable" });
    expect(resolveRange("bytes=-0", 1000)).toEqual({ kind: "unsatisfiable" });
    expect(resolveRange("bytes=-1", 0)).toEqual({ kind: "unsatisfiable" });
  });

  test("as lenient as Bun.serve: any case, blanks around = and -, a number past 2^64-1 ignores the header", () => {
    for (const v of ["Bytes=2-5", "BYTES=2-5", "bytes = 2-5", "bytes= 2-5", "bytes=2 -5", "bytes=2- 5", "bytes=\t2-5"]) {
      expect(resolveRange(v, 16)).toEqual({ kind: "part", start: 2, end: 6 });
    }
    expect(resolveRange("bytes=2-18446744073709551615", 16)).toEqual({ kind: "part", start: 2, end: 16 });
    for (const v of ["bytes=99999999999999999999-", "bytes=2-18446744073709551616", "bytes=-99999999999999999999"]) {
      expect(resolveRange(v, 16)).toEqual({ kind: "all" });
    }
    expect(resolveRange("bytes=18446744073709551615-", 16)).toEqual({ kind: "unsatisfiable" });
  });
});
