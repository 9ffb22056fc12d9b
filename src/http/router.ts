/**
 * @module
 * Which route of an app's Bun `routes` a request takes, decided as Bun.serve 1.4.4 decides it
 * (its router is uWebSockets' `HttpRouter`), so that bunicorn's engine routes exactly as
 * reuse-port mode's Bun.serve does. The table is compiled once into one tree per method; a
 * request walks its method's tree along the path's segments, with no regular expression.
 *
 * The rules, as measured against Bun.serve 1.4.4 (test/http/router.test.ts compares the two):
 *
 * - The path is the request target up to `?`, raw (no percent-decoding, no dot-segment
 *   resolution: `/a/../b` does not match `/b`; `#` is an ordinary character), split on `/`
 *   (`/a/` is `a` and an empty segment; at most 100 segments).
 * - At each node the walk tries, in this order, the exact segment, then a `:param` (which never
 *   matches an empty segment), then wildcards (`*`, which match whatever remains, even an empty
 *   segment: `/api/*` matches `/api/` but not `/api`); it backtracks when a branch ends without
 *   a handler. So the most specific route wins segment by segment, from the left.
 * - A handler for every method (a function) registers for each of Bun's 35 methods at low
 *   priority; a per-method handler at medium priority, and a `GET` handler for `HEAD` too (a
 *   `HEAD` handler given after it replaces that). At one node a medium handler wins. A later
 *   registration at the same path (parameter names do not count) and priority replaces an
 *   earlier one.
 * - `false` registers the fallback (`fetch`, or a plain 404) for `HEAD` (medium) and every
 *   method (low), after all handlers. Then `/*` gets the fallback for every method, unless a
 *   `/*` handler takes them all (src/app/routes.ts makes a `/*` object one handler).
 * - A method outside Bun's 35 matches no route (Bun's parser refuses it; the engine answers 501
 *   before routing, since a `Request` cannot carry it: src/http/methods.ts).
 *
 * - With `websocket` handlers, a WebSocket handshake (a GET with a 24-character
 *   `Sec-WebSocket-Key`) walks a tree of its own: the handlers for every method and for GET
 *   (the later at one path replacing the earlier, whatever their methods), not `false`, and the
 *   fallback at `/*` unless a handler for every method is there.
 *
 * A file route whose file is missing passes the request on: the walk continues as if that
 * handler were not there.
 */
import { exchangeOf } from "./_exchange.ts";
import { BUN_METHODS } from "./methods.ts";
import { paramNames, paramsObject } from "./route-params.ts";
import type { AppRoutes, RouteHandler } from "../app/routes.ts";

/** Bun's (uWebSockets') methods: a route for every method covers these (src/http/methods.ts). */
export { BUN_METHODS };

const MAX_SEGMENTS = 100;

/** What a registration calls: a route's handler (with its parameter names), or the fallback. */
interface Target {
  /** Null for the fallback (`fetch`, or a 404). */
  readonly handler: RouteHandler | null;
  readonly names: readonly string[];
}

const FALLBACK: Target = { handler: null, names: [] };

class Node {
  statics: Map<string, Node> | null = null;
  param: Node | null = null;
  wildcards: Node[] | null = null;
  /** The names of {@link wildcards} (`*`, `*rest`: each distinct name is its own node). */
  wildcardNames: string[] | null = null;
  /** The handlers here, medium priority first. */
  targets: Target[] = [];
}

/** A request's route: its handler (null: the fallback) and `req.params`. */
export interface RouteMatch {
  readonly handler: RouteHandler | null;
  readonly params: Record<string, string> | null;
}

const FALLBACK_MATCH: RouteMatch = { handler: null, params: null };

/** Registrations at one path (parameter names aside): medium ones by method, and one low one. */
interface Slot {
  segments: string[];
  medium: Map<string, Target>;
  low: Target | null;
  /** The WebSocket handshake's handler here (apps with `websocket`). */
  upgrade: Target | null;
}

export class Router {
  private readonly trees = new Map<string, Node>();
  /** The WebSocket handshakes' tree; null when the app has no `websocket` handlers. */
  private readonly upgradeTree: Node | null = null;

  constructor(routes: AppRoutes) {
    const slots = new Map<string, Slot>();
    const slot = (path: string): Slot => {
      const segments = segmentsOf(path).map((s) => (s.charCodeAt(0) === 58 /* : */ ? ":" : s));
      const key = segments.join("/");
      let s = slots.get(key);
      if (s === undefined) slots.set(key, (s = { segments, medium: new Map(), low: null, upgrade: null }));
      return s;
    };
    // Bun's order: handlers (in the table's order, a route object's methods in Bun's order),
    // then `false` routes, then the `/*` fallback. A later one replaces an earlier one.
    let starTaken = false;
    for (const { path, value } of routes.keys) {
      if (value === false) continue;
      const s = slot(path);
      const target = (handler: RouteHandler): Target => ({ handler, names: paramNames(path) });
      if (typeof value === "function") {
        s.low = s.upgrade = target(value);
        if (path === "/*") starTaken = true;
        continue;
      }
      for (const [m, h] of Object.entries(value)) {
        if (h === undefined) continue;
        s.medium.set(m, target(h));
        if (m === "GET") {
          s.medium.set("HEAD", target(h));
          s.upgrade = target(h);
        }
      }
    }
    for (const { path, value } of routes.keys) {
      if (value !== false) continue;
      const s = slot(path);
      s.medium.set("HEAD", FALLBACK);
      s.low = FALLBACK;
    }
    if (!starTaken) slot("/*").low = slot("/*").upgrade = FALLBACK;

    for (const m of BUN_METHODS) {
      const root = new Node();
      for (const s of slots.values()) {
        const medium = s.medium.get(m);
        if (medium === undefined && s.low === null) continue;
        const node = nodeAt(root, s.segments);
        if (medium !== undefined) node.targets.push(medium);
        if (s.low !== null) node.targets.push(s.low);
      }
      this.trees.set(m, root);
    }
    if (routes.websocket) {
      const root = new Node();
      for (const s of slots.values()) if (s.upgrade !== null) nodeAt(root, s.segments).targets.push(s.upgrade);
      this.upgradeTree = root;
    }
  }

  /** The route `method` and `path` (the target's path, raw) take; `upgrade`: a WebSocket handshake. */
  find(method: string, path: string, upgrade = false): RouteMatch {
    const root = upgrade && this.upgradeTree !== null ? this.upgradeTree : this.trees.get(method);
    if (root === undefined) return FALLBACK_MATCH;
    const segs = segmentsOf(path);
    const stack: string[] = [];
    const t = walk(root, segs, 0, stack);
    if (t === null || t.handler === null) return FALLBACK_MATCH;
    return { handler: t.handler, params: paramsObject(t.names, stack) };
  }
}

/** A WebSocket handshake as Bun.serve tells one (the app must have `websocket` handlers). */
export function isUpgrade(req: Request): boolean {
  return req.method === "GET" && req.headers.get("sec-websocket-key")?.length === 24;
}

/** The path Bun routes on: the request target up to `?` (the path of an absolute-form target). */
export function routePath(req: Request): string {
  return targetPath(exchangeOf(req)?.head?.target ?? req.url);
}

/** The path of a request target (or a URL), as Bun routes on it. */
export function targetPath(t: string): string {
  let start = 0;
  if (t.charCodeAt(0) !== 47 /* / */) {
    const scheme = t.indexOf("://");
    if (scheme >= 0) {
      const slash = t.indexOf("/", scheme + 3);
      if (slash < 0) return "/";
      start = slash;
    }
  }
  const q = t.indexOf("?", start);
  return q < 0 ? (start === 0 ? t : t.slice(start)) : t.slice(start, q);
}

/** A path's segments as uWebSockets reads them: the first character skipped, split on `/`. */
function segmentsOf(path: string): string[] {
  if (path.length === 0) return [];
  const segs = path.slice(1).split("/");
  return segs.length > MAX_SEGMENTS ? segs.slice(0, MAX_SEGMENTS) : segs;
}

function nodeAt(root: Node, segments: readonly string[]): Node {
  let node = root;
  for (const seg of segments) {
    let next: Node | undefined;
    if (seg.charCodeAt(0) === 58 /* : */) next = node.param ??= new Node();
    else if (seg.charCodeAt(0) === 42 /* * */) {
      // Each distinct wildcard name (`*`, `*rest`) is its own node, in the order first seen.
      const names = (node.wildcardNames ??= []);
      const i = names.indexOf(seg);
      if (i >= 0) next = node.wildcards![i]!;
      else {
        names.push(seg);
        (node.wildcards ??= []).push((next = new Node()));
      }
    } else {
      node.statics ??= new Map();
      next = node.statics.get(seg);
      if (next === undefined) node.statics.set(seg, (next = new Node()));
    }
    node = next;
  }
  return node;
}

/** The first handler for `segs` from `i` on, depth first; `stack` collects the `:param` segments. */
function walk(node: Node, segs: readonly string[], i: number, stack: string[]): Target | null {
  if (i === segs.length) return first(node.targets);
  const seg = segs[i]!;
  const s = node.statics?.get(seg);
  if (s !== undefined) {
    const t = walk(s, segs, i + 1, stack);
    if (t !== null) return t;
  }
  if (node.param !== null && seg.length > 0) {
    stack.push(seg);
    const t = walk(node.param, segs, i + 1, stack);
    if (t !== null) return t;
    stack.pop();
  }
  if (node.wildcards !== null) {
    for (const w of node.wildcards) {
      const t = first(w.targets);
      if (t !== null) return t;
    }
  }
  return null;
}

/** The first target that takes the request (a file route whose file is missing does not). */
function first(targets: readonly Target[]): Target | null {
  for (const t of targets) {
    const available = t.handler?.available;
    if (available === undefined || available()) return t;
  }
  return null;
}
