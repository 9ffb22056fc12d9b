/**
 * @module
 * `bunicorn ctl`'s output for people: a table or a few lines per command (`--json` prints the
 * reply's result instead). Works on the reply as plain JSON, so an older or newer arbiter's
 * extra or missing fields print as blanks rather than failing.
 */
import type { ControlCommand } from "../src/arbiter/control-protocol.ts";

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

function str(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** Bytes as `12.3 MiB`. */
export function formatBytes(v: unknown): string {
  const n = typeof v === "number" ? v : Number.NaN;
  if (!Number.isFinite(n)) return "-";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let x = n / 1024;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(1)} ${units[i]}`;
}

function secs(v: unknown): string {
  return typeof v === "number" ? `${v.toFixed(1)}s` : "-";
}

/** Left-aligned columns, two spaces apart, with a header row and a rule. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n") + "\n";
}

function workersTable(workers: Json[]): string {
  return table(
    ["PID", "AGE", "GEN", "STATE", "REQUESTS", "IN_FLIGHT", "RSS", "LAST_BEAT", "UPTIME", "STARTED"],
    workers.map((w) => [
      str(w.pid),
      str(w.age),
      str(w.generation),
      str(w.state),
      str(w.requests),
      str(w.inFlight),
      formatBytes(w.rss),
      typeof w.heartbeatAge === "number" ? `${secs(w.heartbeatAge)} ago` : "-",
      secs(w.uptime),
      str(w.startedAt),
    ]),
  );
}

function statsLines(a: Json): string {
  const rows: [string, string][] = [
    ["arbiter pid", str(a.pid)],
    ["version", str(a.version)],
    ["started at", str(a.startedAt)],
    ["uptime", secs(a.uptime)],
    ["generation", str(a.generation)],
    ["workers", `${str(a.workers)} running, ${str(a.ready)} ready, ${str(a.targetWorkers)} wanted`],
    ["requests", str(a.requests)],
    ["in flight", str(a.inFlight)],
    ["workers' RSS", formatBytes(a.rss)],
    ["arbiter RSS", formatBytes(a.arbiterRss)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}  ${v}`).join("\n") + "\n";
}

function listenersTable(listeners: Json[]): string {
  return table(
    ["ADDRESS", "MODE", "FD"],
    listeners.map((l) => [str(l.address), str(l.mode), str(l.fd)]),
  );
}

/** The text `bunicorn ctl` prints for a successful reply. */
export function formatResult(cmd: ControlCommand, result: unknown): string {
  const r = obj(result);
  switch (cmd.kind) {
    case "show":
      switch (cmd.what) {
        case "workers": {
          const workers = list(r.workers);
          return `${workersTable(workers)}\nTotal: ${workers.length} workers (${str(r.target)} wanted)\n`;
        }
        case "stats":
          return statsLines(r);
        case "listeners":
          return listenersTable(list(r.listeners));
        case "config":
          return Object.entries(r)
            .map(([k, v]) => `${k} = ${str(v)}`)
            .join("\n")
            .concat("\n");
        case "all": {
          const workers = list(r.workers);
          return `${statsLines(obj(r.arbiter))}\n${listenersTable(list(r.listeners))}\n${workersTable(workers)}\nTotal: ${workers.length} workers\n`;
        }
      }
      break;
    case "worker-add":
    case "worker-remove":
      return `workers: ${str(r.previous)} -> ${str(r.workers)}\n`;
    case "worker-kill":
      return `worker ${str(r.pid)}: sent ${str(r.signal)} (a replacement is starting)\n`;
    case "reload":
      return `reloading: generation ${str(r.generation)} is starting\n`;
    case "reopen":
      return "log files reopened\n";
    case "shutdown":
      return `arbiter ${str(r.pid)}: ${str(r.shutdown)} shutdown started\n`;
  }
  return `${JSON.stringify(result)}\n`;
}
