/**
 * @module
 * WebSocket topics across the threads of a gthread worker. Each thread serves its own Bun.serve
 * or engine, and Bun keeps topics per server, so a `publish` would only reach the subscribers
 * that happen to be on the publisher's thread. Here every publish also goes to the other
 * threads of the process over a `BroadcastChannel` named after the listener, and each publishes
 * it to its own subscribers: `subscribe`/`publish` work across the whole worker, as in a
 * `sync` worker.
 *
 * The engine relays by itself (its `publishChannel` option). For Bun.serve, whose
 * `ServerWebSocket` is native, `server.publish` is wrapped on the server, and `ws.publish`,
 * `publishText` and `publishBinary` on the thread's `ServerWebSocket` prototype (patched once,
 * at the first `open`: Bun does not expose the class). Return values count this thread's
 * subscribers only, as does `server.subscriberCount()`.
 */
import type { Server, WebSocketHandler } from "bun";
import type { ListenerSpec } from "./protocol.ts";

/** The channel of `listener`'s publishes in a gthread thread; null in a worker's main thread. */
export function publishChannelOf(listener: ListenerSpec): string | null {
  return Bun.isMainThread ? null : `bunicorn:pubsub:${listener.display}`;
}

interface Relayed {
  t: string;
  d: unknown;
  c: boolean | undefined;
}

type Post = (topic: string, data: unknown, compress: boolean | undefined) => void;
type Publish = (this: object, topic: string, data: unknown, compress?: boolean) => number;

/** The relay of each native ServerWebSocket (by the server it belongs to). */
const relayOf = new WeakMap<object, Post>();
let prototypePatched = false;

function patchPrototype(ws: object): void {
  if (prototypePatched) return;
  prototypePatched = true;
  const proto = Object.getPrototypeOf(ws) as Record<string, Publish>;
  for (const name of ["publish", "publishText", "publishBinary"]) {
    const native = proto[name];
    if (typeof native !== "function") continue;
    proto[name] = function (this: object, topic: string, data: unknown, compress?: boolean): number {
      const r = native.call(this, topic, data, compress);
      // A closed socket publishes nothing (Bun returns 0), here or elsewhere.
      if ((this as { readyState?: number }).readyState === 1) relayOf.get(this)?.(topic, data, compress ?? false);
      return r;
    };
  }
}

/** Relays the publishes of one Bun.serve server: `handlers` to give Bun.serve, then `attach(server)`. */
export function bunServeRelay(handlers: WebSocketHandler<unknown>, channel: string): { handlers: WebSocketHandler<unknown>; attach(server: Server<unknown>): void } {
  const ch = new BroadcastChannel(channel);
  (ch as BroadcastChannel & { unref?: () => void }).unref?.();
  const post: Post = (t, d, c) => {
    try {
      ch.postMessage({ t: String(t), d, c } satisfies Relayed);
    } catch {
      /* a closed channel, or data that cannot be cloned: this thread's subscribers got it */
    }
  };
  const open = handlers.open;
  const wrapped: WebSocketHandler<unknown> = withHandlers(handlers, {
    open(ws) {
      patchPrototype(ws);
      relayOf.set(ws, post);
      return open?.call(handlers, ws);
    },
  });
  return {
    handlers: wrapped,
    attach(server) {
      const native = server.publish.bind(server) as (topic: string, data: unknown, compress?: boolean) => number;
      ch.onmessage = (e: { data: unknown }) => {
        const m = e.data as Relayed | null;
        if (m !== null && typeof m === "object" && typeof m.t === "string") native(m.t, m.d, m.c);
      };
      (server as { publish: unknown }).publish = (topic: string, data: unknown, compress?: boolean): number => {
        const r = native(topic, data, compress);
        post(topic, data, compress);
        return r;
      };
    },
  };
}

const HANDLER_KEYS = ["message", "open", "close", "drain", "ping", "pong", "error"] as const;
const OPTION_KEYS = [
  "data",
  "maxPayloadLength",
  "backpressureLimit",
  "closeOnBackpressureLimit",
  "idleTimeout",
  "publishToSelf",
  "sendPings",
  "perMessageDeflate",
] as const;

/**
 * A copy of `handlers` (its methods bound to it, so `this` stays the app's object, and its
 * options, own or inherited) with `replace` over it.
 */
export function withHandlers(handlers: WebSocketHandler<unknown>, replace: Partial<WebSocketHandler<unknown>>): WebSocketHandler<unknown> {
  const h = handlers as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of HANDLER_KEYS) {
    const f = h[k];
    if (typeof f === "function") out[k] = f.bind(handlers);
  }
  for (const k of OPTION_KEYS) if (h[k] !== undefined) out[k] = h[k];
  return Object.assign(out, replace) as WebSocketHandler<unknown>;
}
