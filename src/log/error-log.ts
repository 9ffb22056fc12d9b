/**
 * @module
 * The error log: Gunicorn's line shape, `[2026-11-22 10:00:00 +0000] [1234] [INFO] message`,
 * written through a consola instance whose reporter formats and appends the line to stderr (`-`)
 * or a file. Reopened on USR1.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { createConsola, type ConsolaInstance, type LogObject } from "consola";
import type { LogMethods } from "../hook-types.ts";

export type LogLevelName = "debug" | "info" | "warning" | "error" | "critical";

const LEVELS: Record<LogLevelName, number> = { critical: 0, error: 0, warning: 1, info: 3, debug: 4 };
const LABEL: Record<string, string> = { debug: "DEBUG", info: "INFO", warn: "WARNING", error: "ERROR", fatal: "CRITICAL" };

/** `[2026-11-22 10:00:00 +0000]`, Gunicorn's `datefmt`. */
export function formatLogTime(d = new Date()): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `[${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${sign}${p(Math.floor(abs / 60))}${p(abs % 60)}]`;
}

/** Formats `%s`/`%d`/`%r` placeholders the way Python logging call sites in hooks expect. */
export function formatMessage(msg: string, args: readonly unknown[]): string {
  if (args.length === 0) return msg;
  let i = 0;
  const out = msg.replace(/%[sdrif%]/g, (m) => {
    if (m === "%%") return "%";
    const a = args[i++];
    return typeof a === "string" ? a : a instanceof Error ? a.message : JSON.stringify(a) ?? String(a);
  });
  const rest = args.slice(i).map((a) => (typeof a === "string" ? a : a instanceof Error ? (a.stack ?? a.message) : JSON.stringify(a)));
  return rest.length ? `${out} ${rest.join(" ")}` : out;
}

/** The error log of one process (arbiter or worker). */
export class ErrorLog implements LogMethods {
  private fd = 2;
  private readonly consola: ConsolaInstance;

  constructor(
    private readonly target: string = "-",
    level: LogLevelName = "info",
  ) {
    this.open();
    this.consola = createConsola({
      level: LEVELS[level],
      reporters: [{ log: (obj: LogObject) => this.write(obj) }],
    });
  }

  private open(): void {
    this.fd = this.target === "-" ? 2 : openSync(this.target, "a");
  }

  /** USR1: reopen the file (after logrotate moved it). */
  reopen(): void {
    if (this.target === "-") return;
    const old = this.fd;
    this.open();
    try {
      closeSync(old);
    } catch {}
  }

  private write(obj: LogObject): void {
    const [msg, ...args] = obj.args as [string, ...unknown[]];
    const text = formatMessage(String(msg), args);
    const line = `${formatLogTime(obj.date)} [${process.pid}] [${LABEL[obj.type] ?? obj.type.toUpperCase()}] ${text}\n`;
    try {
      writeSync(this.fd, line);
    } catch {}
  }

  debug(msg: string, ...args: unknown[]): void {
    this.consola.debug(msg, ...args);
  }
  info(msg: string, ...args: unknown[]): void {
    this.consola.info(msg, ...args);
  }
  warning(msg: string, ...args: unknown[]): void {
    this.consola.warn(msg, ...args);
  }
  error(msg: string, ...args: unknown[]): void {
    this.consola.error(msg, ...args);
  }
  critical(msg: string, ...args: unknown[]): void {
    this.consola.fatal(msg, ...args);
  }
  exception(msg: string, ...args: unknown[]): void {
    this.consola.error(msg, ...args);
  }
}
