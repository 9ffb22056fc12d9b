/**
 * Which requests were upgraded to a WebSocket. After `server.upgrade(req)` an app returns no
 * Response, and for such a request that is a 101, not an error: bunicorn's `Worker.handle` asks
 * here. The engine marks its upgrades; in reuse-port mode bunicorn marks Bun.serve's
 * (src/workers/reuse-port-websocket.ts), with what the access line needs and Bun no longer
 * tells once the request is upgraded (the peer's address).
 *
 * @module
 */

/** What is known of an upgrade. */
export interface Upgrade {
  /** The peer's address ("" when unknown or a unix socket). */
  remoteAddress: string;
  /** The extra headers the app gave `server.upgrade()`. */
  headers: Headers | null;
}

const upgrades = new WeakMap<Request, Upgrade>();
const NOTHING: Upgrade = { remoteAddress: "", headers: null };
/** Whether this thread has upgraded any request: until then every request is answered without a lookup. */
let anyUpgraded = false;

export function markUpgraded(req: Request, upgrade: Upgrade = NOTHING): void {
  anyUpgraded = true;
  upgrades.set(req, upgrade);
}

/** The upgrade of `req`, or undefined when it was not upgraded. */
export function upgradeOf(req: Request): Upgrade | undefined {
  return anyUpgraded ? upgrades.get(req) : undefined;
}
