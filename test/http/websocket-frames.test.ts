// The WebSocket frame parser (client frames: masking, lengths, fragments, control frames, close
// payloads, UTF-8, the size limit) and the server's frame writer.
import { describe, expect, test } from "bun:test";
import { FrameParser, WebSocketProtocolError, type FrameSink } from "../../src/http/websocket/frame-parser.ts";
import { encodeClose, encodeFrame, encodeTextFrame, truncateReason } from "../../src/http/websocket/frame-writer.ts";
import { clientFrame, closePayload, parseFrames } from "../support/ws-client.ts";

type Event = [string, ...unknown[]];

function collector(): { sink: FrameSink; events: Event[] } {
  const events: Event[] = [];
  const sink: FrameSink = {
    onMessage: (m) => events.push(["message", typeof m === "string" ? m : Buffer.from(m).toString("hex")]),
    onPing: (p) => events.push(["ping", Buffer.from(p).toString()]),
    onPong: (p) => events.push(["pong", Buffer.from(p).toString()]),
    onCloseFrame: (code, reason) => events.push(["close", code, reason]),
  };
  return { sink, events };
}

/** Feeds `bytes` whole, and again one byte at a time; both must give the same events (or error). */
function parse(bytes: Buffer, max = 1 << 24): Event[] {
  const run = (chunks: Buffer[]) => {
    const { sink, events } = collector();
    const p = new FrameParser(sink, max);
    try {
      for (const c of chunks) p.feed(c);
    } catch (e) {
      if (!(e instanceof WebSocketProtocolError)) throw e;
      events.push(["error", e.code, e.message]);
    }
    return events;
  };
  const whole = run([bytes]);
  const bytewise = run([...bytes].map((b) => Buffer.from([b])));
  expect(bytewise).toEqual(whole);
  return whole;
}

describe("frame parser", () => {
  test("masked text and binary messages, in one chunk or byte by byte", () => {
    expect(parse(Buffer.concat([clientFrame(1, "hello"), clientFrame(2, Buffer.from([1, 2, 255]))]))).toEqual([
      ["message", "hello"],
      ["message", "0102ff"],
    ]);
  });

  test("7-, 16- and 64-bit lengths (a non-minimal 64-bit length is accepted, as Bun.serve does)", () => {
    const mid = Buffer.alloc(300, 0x61);
    const big = Buffer.alloc(70_000, 0x62);
    const events = parse(Buffer.concat([clientFrame(1, "abc", { len64: true }), clientFrame(1, mid), clientFrame(2, big)]));
    expect(events.map((e) => (e[1] as string).length)).toEqual([3, 300, 140_000]);
    expect(events[0]).toEqual(["message", "abc"]);
  });

  test("a fragmented message is reassembled, with control frames between the fragments", () => {
    const euro = Buffer.from("€", "utf8");
    const frames = Buffer.concat([
      clientFrame(1, Buffer.concat([Buffer.from("a"), euro.subarray(0, 2)]), { fin: false }),
      clientFrame(9, "p1"),
      clientFrame(0, euro.subarray(2), { fin: false }),
      clientFrame(10, "p2"),
      clientFrame(0, "z"),
      clientFrame(2, "x", { fin: false }),
      clientFrame(0, "", { fin: false }),
      clientFrame(0, "y"),
    ]);
    expect(parse(frames)).toEqual([
      ["ping", "p1"],
      ["pong", "p2"],
      ["message", "a€z"],
      ["message", "7879"],
    ]);
  });

  test("empty messages and control frames", () => {
    expect(parse(Buffer.concat([clientFrame(1, ""), clientFrame(2, ""), clientFrame(9, "")]))).toEqual([
      ["message", ""],
      ["message", ""],
      ["ping", ""],
    ]);
  });

  const errors: [string, Buffer, number, string][] = [
    ["an unmasked frame", clientFrame(1, "hi", { mask: false }), 1002, "Received an incorrectly masked frame"],
    ["RSV1", clientFrame(1, "hi", { rsv: 4 }), 1002, "Received unexpected RSV1 bit"],
    ["RSV2", clientFrame(1, "hi", { rsv: 2 }), 1002, "Received unexpected RSV2 or RSV3 bit"],
    ["RSV3", clientFrame(1, "hi", { rsv: 1 }), 1002, "Received unexpected RSV2 or RSV3 bit"],
    ["opcode 3", clientFrame(3, "hi"), 1002, "Received invalid opcode"],
    ["opcode 0xB", clientFrame(0xb, "hi"), 1002, "Received invalid opcode"],
    ["a 126-byte ping", clientFrame(9, Buffer.alloc(126)), 1002, "Received too big control frame"],
    ["a fragmented ping", clientFrame(9, "x", { fin: false }), 1002, "Received fragmented control frame"],
    ["a continuation first", clientFrame(0, "x"), 1002, "Received continuation frame outside a fragmented message"],
    ["a new message inside a fragmented one", Buffer.concat([clientFrame(1, "a", { fin: false }), clientFrame(2, "b")]), 1002, "Received new message inside a fragmented message"],
    ["invalid UTF-8", clientFrame(1, Buffer.from([0x61, 0xc3])), 1007, "Received invalid UTF-8"],
    ["invalid UTF-8 across fragments", Buffer.concat([clientFrame(1, Buffer.from([0xe2, 0x82]), { fin: false }), clientFrame(0, Buffer.from([0x41]))]), 1007, "Received invalid UTF-8"],
    ["a 1-byte close payload", clientFrame(8, Buffer.from([3])), 1002, "Received invalid close payload"],
    ["close code 1005", clientFrame(8, closePayload(1005)), 1002, "Received invalid close code"],
    ["close code 999", clientFrame(8, closePayload(999)), 1002, "Received invalid close code"],
    ["close code 1004", clientFrame(8, closePayload(1004)), 1002, "Received invalid close code"],
    ["close code 1015", clientFrame(8, closePayload(1015)), 1002, "Received invalid close code"],
    ["close code 2999", clientFrame(8, closePayload(2999)), 1002, "Received invalid close code"],
    ["close code 5000", clientFrame(8, closePayload(5000)), 1002, "Received invalid close code"],
    ["a close reason that is not UTF-8", clientFrame(8, Buffer.concat([closePayload(1000), Buffer.from([0xff])])), 1007, "Received invalid UTF-8"],
    ["a length with the top bit set", Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 0]), 1009, "Received too big message"],
  ];
  for (const [name, bytes, code, message] of errors) {
    test(`${name}: close ${code}, "${message}"`, () => {
      const events = parse(bytes);
      expect(events.at(-1)).toEqual(["error", code, message]);
    });
  }

  test("close frames: none, a code, a code and a reason; nothing after the close is read", () => {
    expect(parse(clientFrame(8, ""))).toEqual([["close", 1005, ""]]);
    expect(parse(Buffer.concat([clientFrame(8, closePayload(4999, "bye é")), clientFrame(1, "late")]))).toEqual([["close", 4999, "bye é"]]);
    for (const code of [1000, 1001, 1002, 1003, 1007, 1011, 1012, 1014, 3000, 4000]) expect(parse(clientFrame(8, closePayload(code)))).toEqual([["close", code, ""]]);
  });

  test("the size limit: a message at the limit passes, one byte more is 1009, also across fragments", () => {
    expect(parse(clientFrame(2, Buffer.alloc(100)), 100)).toEqual([["message", "00".repeat(100)]]);
    expect(parse(clientFrame(2, Buffer.alloc(101)), 100)).toEqual([["error", 1009, "Received too big message"]]);
    expect(parse(Buffer.concat([clientFrame(2, Buffer.alloc(60), { fin: false }), clientFrame(0, Buffer.alloc(41))]), 100)).toEqual([["error", 1009, "Received too big message"]]);
    expect(parse(clientFrame(1, ""), 0)).toEqual([["message", ""]]);
  });

  test("stop() ends reading, also from inside a callback", () => {
    const events: string[] = [];
    const p: FrameParser = new FrameParser(
      {
        onMessage: (m) => {
          events.push(String(m));
          p.stop();
        },
        onPing: () => {},
        onPong: () => {},
        onCloseFrame: () => {},
      },
      1000,
    );
    p.feed(Buffer.concat([clientFrame(1, "one"), clientFrame(1, "two")]));
    p.feed(clientFrame(1, "three"));
    expect(events).toEqual(["one"]);
  });
});

describe("frame writer", () => {
  test("headers for each length form, unmasked, FIN set", () => {
    for (const n of [0, 125, 126, 65535, 65536, 200_000]) {
      const f = encodeFrame(2, new Uint8Array(n).fill(7));
      const { frames, rest } = parseFrames(f);
      expect(rest.length).toBe(0);
      expect(frames.length).toBe(1);
      expect(frames[0]!.fin).toBe(true);
      expect(frames[0]!.opcode).toBe(2);
      expect(frames[0]!.payload.length).toBe(n);
      expect(f[1]! & 0x80).toBe(0);
      expect(f.length - n).toBe(n < 126 ? 2 : n < 65536 ? 4 : 10);
    }
  });

  test("text is UTF-8, and the size is its byte count", () => {
    const { frame, size } = encodeTextFrame(1, "é€");
    expect(size).toBe(5);
    expect(parseFrames(frame).frames[0]!.payload.toString("utf8")).toBe("é€");
  });

  test("close frames: code and reason; 0, 1005 and 1006 send no code", () => {
    expect(parseFrames(encodeClose(4001, "bye")).frames[0]!.payload).toEqual(closePayload(4001, "bye"));
    for (const code of [0, 1005, 1006]) expect(parseFrames(encodeClose(code, "ignored")).frames[0]!.payload.length).toBe(0);
  });

  test("reasons are cut to 123 bytes at a character boundary", () => {
    expect(truncateReason("short")).toBe("short");
    const r = truncateReason("é".repeat(100));
    expect(Buffer.byteLength(r)).toBe(122);
    expect(truncateReason("a".repeat(200)).length).toBe(123);
    expect(Buffer.byteLength(truncateReason("€".repeat(50)))).toBe(123);
  });
});
