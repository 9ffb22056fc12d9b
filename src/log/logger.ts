/**
 * @module
 * `Logger`: the default logger class, and the base class of logger plugins. It writes the error
 * log (Gunicorn's `[time] [pid] [LEVEL] message` line) and the access log
 * (Gunicorn's atoms, or JSON), each to files, stdout/stderr and/or syslog, without blocking the
 * request path (lines are buffered and flushed on the next turn of the event loop). `reopen()`
 * is USR1. The metric methods are no-ops here; `StatsdLogger` sends them.
 */
import type { Settings } from "../config/registry.ts";
import type { LogMethods } from "../hook-types.ts";
import { compileAccessFormat, type AccessRecord } from "./access-format.ts";
import type { LogConfig, LogLevelName } from "./logconfig.ts";
import { LineWriter } from "./_line-writer.ts";
import { formatOffset, localTime } from "./local-time.ts";
import type { SyslogTransport } from "./syslog.ts";

/** The syslog module, loaded on first use: node:net/node:dgram cost ~4 MB per process otherwise. */
function syslogModule(): typeof import("./syslog.ts") {
  return require("./syslog.ts");
}

export type { AccessRecord, LogLevelName };

/** How verbose each level is: a message is written when its rank is at most the logger's. */
const RANK: Record<LogLevelName, number> = { critical: 0, error: 0, warning: 1, info: 3, debug: 4 };

/** `[2026-11-22 10:00:00 +0000]`, Gunicorn's `datefmt`. */
export function formatLogTime(d = new Date()): string {
  const t = localTime(d.getTime());
  const p = (n: number) => String(n).padStart(2, "0");
  return `[${t.year}-${p(t.month)}-${p(t.day)} ${p(t.hours)}:${p(t.minutes)}:${p(t.seconds)} ${formatOffset(t.offset)}]`;
}

/** Formats `%s`-style placeholders the way Gunicorn's (Python) log calls do. */
export function formatMessage(msg: string, args: readonly unknown[]): string {
  if (args.length === 0) return msg;
  let i = 0;
  const show = (a: unknown) => (typeof a === "string" ? a : a instanceof Error ? (a.stack ?? a.message) : (JSON.stringify(a) ?? String(a)));
  const out = msg.replace(/%[sdrif%]/g, (m) => (m === "%%" ? "%" : show(args[i++])));
  const rest = args.slice(i).map(show);
  return rest.length ? `${out} ${rest.join(" ")}` : out;
}

export interface LoggerOptions {
  /** Who logs: the arbiter or a worker (statsd loggers send some metrics from one side only). */
  role: "arbiter" | "worker";
  /** The resolved `logconfig*` settings, if any. */
  logConfig?: LogConfig | null;
}

/** A log target. `bare` is the line without its timestamp (syslog adds its own). */
type Sink = { write(line: string, level: LogLevelName, bare: string): void; flush(): void; reopen(): void; close(): void };

export class Logger implements LogMethods {
  readonly cfg: Readonly<Settings>;
  readonly role: "arbiter" | "worker";
  /** True when access lines are written somewhere (the request path skips the work otherwise). */
  readonly accessEnabled: boolean;
  /** The configured level's rank: messages above it are dropped. */
  private readonly rank: number;
  private readonly errorSinks: Sink[] = [];
  private readonly accessSinks: Sink[] = [];
  private readonly errorJson: boolean;
  private readonly formatAccess: (r: AccessRecord) => string;
  private syslog: SyslogTransport | null = null;

  constructor(cfg: Readonly<Settings>, options: LoggerOptions) {
    this.cfg = cfg;
    this.role = options.role;
    const lc = options.logConfig ?? null;
    const level = lc?.error?.level ?? cfg.loglevel;
    this.errorJson = lc?.error?.format === "json";
    this.formatAccess = compileAccessFormat(lc?.access?.format ?? cfg.access_log_format);

    const name = cfg.syslog_prefix ?? cfg.proc_name ?? "bunicorn";
    const errorTargets = lc?.error?.targets ?? [cfg.errorlog, ...(cfg.syslog ? ["syslog"] : [])];
    const accessTargets = lc?.access?.targets ?? [...(cfg.accesslog ? [cfg.accesslog] : []), ...(cfg.syslog && !cfg.disable_redirect_access_to_syslog ? ["syslog"] : [])];
    for (const t of errorTargets) this.errorSinks.push(this.sink(t, 2, `bunicorn.${name}.error`));
    for (const t of accessTargets) this.accessSinks.push(this.sink(t, 1, `bunicorn.${name}.access`));
    this.accessEnabled = this.accessSinks.length > 0;

    // A level check and a line: consola (which did this before) cost about 1 MB RSS per process.
    this.rank = RANK[level];
  }

  private sink(target: string, dash: 1 | 2, ident: string): Sink {
    if (target === "syslog" || target.startsWith("syslog:")) {
      const address = target === "syslog" ? this.cfg.syslog_addr : target.slice(7);
      const { SyslogTransport, FACILITY } = syslogModule();
      const facility = FACILITY[this.cfg.syslog_facility] ?? 1;
      const transport = target === "syslog" ? (this.syslog ??= new SyslogTransport(address, facility)) : new SyslogTransport(address, facility);
      return { write: (_line, level, bare) => transport.log(level, ident, bare), flush: () => {}, reopen: () => {}, close: () => transport.close() };
    }
    const w = new LineWriter(target, dash);
    return { write: (line) => w.write(line), flush: () => w.flushSync(), reopen: () => w.reopen(), close: () => w.close() };
  }

  private writeError(level: LogLevelName, msg: string, args: unknown[]): void {
    if (RANK[level] > this.rank) return;
    const date = new Date();
    const text = formatMessage(String(msg), args);
    const bare = `[${process.pid}] [${level.toUpperCase()}] ${text}`;
    const line = this.errorJson
      ? JSON.stringify({ time: date.toISOString(), pid: process.pid, level, message: text })
      : `${formatLogTime(date)} ${bare}`;
    for (const s of this.errorSinks) s.write(line, level, this.errorJson ? line : bare);
    this.onLog(level);
  }

  /** Called for every error-log message written (statsd counts them). */
  protected onLog(_level: LogLevelName): void {}

  debug(msg: string, ...args: unknown[]): void {
    this.writeError("debug", msg, args);
  }
  info(msg: string, ...args: unknown[]): void {
    this.writeError("info", msg, args);
  }
  warning(msg: string, ...args: unknown[]): void {
    this.writeError("warning", msg, args);
  }
  error(msg: string, ...args: unknown[]): void {
    this.writeError("error", msg, args);
  }
  critical(msg: string, ...args: unknown[]): void {
    this.writeError("critical", msg, args);
  }
  exception(msg: string, ...args: unknown[]): void {
    this.writeError("error", msg, args);
  }

  /** True when `access()` wants records (an access log, or metrics to count). */
  get wantsRecords(): boolean {
    return this.accessEnabled;
  }

  /** Writes one access-log line for a finished request (workers call this). */
  access(record: AccessRecord): void {
    if (!this.accessEnabled) return;
    this.writeAccessLine(this.formatAccess(record));
  }

  /** Sends an already formatted line to every access-log target (for logger plugins). */
  protected writeAccessLine(line: string): void {
    for (const s of this.accessSinks) s.write(line, "info", line);
  }

  /** A gauge (e.g. `bunicorn.workers`); no-op unless the logger sends metrics. */
  gauge(_name: string, _value: number): void {}
  /** A counter; no-op unless the logger sends metrics. */
  increment(_name: string, _value = 1): void {}
  /** A timing in milliseconds; no-op unless the logger sends metrics. */
  histogram(_name: string, _ms: number): void {}

  /** Writes out every line still batched in memory (before the process may be killed). */
  flush(): void {
    for (const s of [...this.errorSinks, ...this.accessSinks]) s.flush();
  }

  /** USR1: reopen every log file (after logrotate moved them). */
  reopen(): void {
    for (const s of [...this.errorSinks, ...this.accessSinks]) s.reopen();
  }

  /** Flushes and closes every target. */
  close(): void {
    for (const s of [...this.errorSinks, ...this.accessSinks]) s.close();
  }
}
