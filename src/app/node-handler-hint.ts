/**
 * @module
 * An Express app given to a fetch worker class: bunicorn would call it as `fetch(request)` and
 * every request would fail inside Express. Caught when the worker loads the app, with the way
 * to serve it (`-k node`, plugins/node). Only Express is recognised (by its shape: a function
 * with `handle`, `use`, `set` and `listen`); a plain `(req, res)` function cannot be told from a
 * fetch function, and needs no telling under `-k node`, where the worker class says what the
 * export is.
 */
import type { Settings } from "../config/registry.ts";
import type { FetchApp } from "./load-app.ts";

/** One line saying how to serve `app`, when it is an Express app under a default worker class; else null. */
export function nodeHandlerHint(app: FetchApp, workerClass: Settings["worker_class"]): string | null {
  if (typeof workerClass !== "string" || !["sync", "process", "gthread"].includes(workerClass.trim())) return null;
  const f = app.fetch as unknown as Record<string, unknown>;
  const express = ["handle", "use", "set", "listen"].every((k) => typeof f[k] === "function");
  if (!express) return null;
  return "The app is an Express app, a Node (req, res) handler, not a fetch app: serve it with the Node worker, -k node.";
}
