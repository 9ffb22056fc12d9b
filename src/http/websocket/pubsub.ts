/**
 * Topics for `subscribe`/`publish` among the WebSockets of one engine, as Bun.serve keeps them per
 * server: `ws.publish` reaches every subscriber but the sender, `server.publish` every subscriber.
 * A message is encoded once and the same frame is written to each subscriber.
 *
 * With a channel name, publishes also travel to the engines of the other threads of this process
 * that use the same name (a `BroadcastChannel`): bunicorn's gthread worker runs one engine per
 * thread, and a publish must reach the subscribers of the whole worker.
 *
 * @module
 */
import { OP_BINARY, OP_TEXT } from "./frame-parser.ts";
import { encodeFrame, encodeTextFrame } from "./frame-writer.ts";

/** What a topic delivers to. */
export interface Subscriber {
  /** Writes an encoded frame carrying `size` payload bytes; Bun's send status. */
  sendEncoded(frame: Uint8Array, size: number): number;
}

/** A message as published: a string (text) or bytes (binary). */
export type Published = string | Uint8Array;

interface Relayed {
  t: string;
  d: Published;
}

export class Topics {
  private readonly map = new Map<string, Set<Subscriber>>();
  private readonly channel: BroadcastChannel | null;

  constructor(channelName: string | null) {
    if (channelName === null) {
      this.channel = null;
      return;
    }
    const ch = new BroadcastChannel(channelName);
    (ch as BroadcastChannel & { unref?: () => void }).unref?.();
    ch.onmessage = (e: { data: unknown }) => {
      const m = e.data as Relayed | null;
      if (m !== null && typeof m === "object" && typeof m.t === "string") this.deliver(m.t, m.d, null);
    };
    this.channel = ch;
  }

  subscribe(s: Subscriber, topic: string): void {
    let set = this.map.get(topic);
    if (set === undefined) this.map.set(topic, (set = new Set()));
    set.add(s);
  }

  /** Whether `s` was subscribed to `topic`. */
  unsubscribe(s: Subscriber, topic: string): boolean {
    const set = this.map.get(topic);
    if (set === undefined || !set.delete(s)) return false;
    if (set.size === 0) this.map.delete(topic);
    return true;
  }

  count(topic: string): number {
    return this.map.get(topic)?.size ?? 0;
  }

  /**
   * Sends `data` to the subscribers of `topic` but `except`, and to the other threads' engines.
   * Returns Bun's status for this engine's subscribers: 0 when none got it (or one dropped it),
   * -1 when one is under backpressure, else the payload's size.
   */
  publish(topic: string, data: Published, except: Subscriber | null): number {
    const status = this.deliver(topic, data, except);
    const ch = this.channel;
    if (ch !== null) {
      try {
        ch.postMessage({ t: topic, d: data } satisfies Relayed);
      } catch {
        /* a closed channel: this thread is stopping */
      }
    }
    return status;
  }

  /** Stops relaying (the engine stopped). */
  close(): void {
    this.channel?.close();
  }

  private deliver(topic: string, data: Published, except: Subscriber | null): number {
    const set = this.map.get(topic);
    if (set === undefined) return 0;
    let frame: Uint8Array;
    let size: number;
    if (typeof data === "string") ({ frame, size } = encodeTextFrame(OP_TEXT, data));
    else {
      frame = encodeFrame(OP_BINARY, data);
      size = data.length;
    }
    let sent = 0;
    let dropped = false;
    let backpressure = false;
    // A subscriber may unsubscribe (close) while being written to: iterate over a copy.
    for (const s of set.size === 1 ? set : [...set]) {
      if (s === except) continue;
      const r = s.sendEncoded(frame, size);
      sent++;
      if (r === -1) backpressure = true;
      else if (r === 0 && size > 0) dropped = true;
    }
    if (sent === 0 || dropped || size === 0) return 0;
    return backpressure ? -1 : size;
  }
}
