/**
 * @module
 * Calls a server hook if the config sets one. A hook that throws or rejects is logged and never
 * takes the arbiter or the worker down (Gunicorn logs and carries on too).
 */
import type { LogMethods } from "../hook-types.ts";
import type { Settings } from "./registry.ts";

export async function callHook(cfg: Readonly<Settings>, log: LogMethods, name: keyof Settings, ...args: unknown[]): Promise<void> {
  const fn = cfg[name];
  if (typeof fn !== "function") return;
  try {
    await (fn as (...a: unknown[]) => unknown)(...args);
  } catch (e) {
    log.error("Exception in %s hook: %s", name, e instanceof Error ? (e.stack ?? e.message) : String(e));
  }
}
