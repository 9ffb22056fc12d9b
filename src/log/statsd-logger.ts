/**
 * @module
 * `StatsdLogger`: the default logger plus statsd metrics (Gunicorn's `Statsd` logger). Used
 * when `statsd_host` is set and `logger_class` is the default, or by name (`statsd`).
 *
 * Metrics (after `statsd_prefix`): `bunicorn.requests` (counter), `bunicorn.request.duration`
 * (timer, ms), `bunicorn.request.status.<code>` (counter), `bunicorn.workers` (gauge, from the
 * arbiter), `bunicorn.log.critical|error|warning|exception` (counters).
 */
import type { Settings } from "../config/registry.ts";
import type { AccessRecord } from "./access-format.ts";
import type { LogLevelName } from "./logconfig.ts";
import { Logger, type LoggerOptions } from "./logger.ts";
import { StatsdClient, statsdPrefix } from "./statsd.ts";

export class StatsdLogger extends Logger {
  private readonly statsd: StatsdClient | null;

  constructor(cfg: Readonly<Settings>, options: LoggerOptions) {
    super(cfg, options);
    this.statsd = cfg.statsd_host ? new StatsdClient(cfg.statsd_host, statsdPrefix(cfg.statsd_prefix), cfg.dogstatsd_tags) : null;
  }

  protected override onLog(level: LogLevelName): void {
    if (level === "critical" || level === "error" || level === "warning") this.statsd?.increment(`bunicorn.log.${level}`);
  }

  override exception(msg: string, ...args: unknown[]): void {
    this.statsd?.increment("bunicorn.log.exception");
    super.exception(msg, ...args);
  }

  override access(record: AccessRecord): void {
    super.access(record);
    const s = this.statsd;
    if (!s) return;
    s.histogram("bunicorn.request.duration", record.durationMs);
    s.increment("bunicorn.requests");
    s.increment(`bunicorn.request.status.${record.status}`);
  }

  /** Access records are wanted even with no access log, to count requests. */
  override get wantsRecords(): boolean {
    return this.statsd !== null || this.accessEnabled;
  }

  override gauge(name: string, value: number): void {
    this.statsd?.gauge(name, value);
  }
  override increment(name: string, value = 1): void {
    this.statsd?.increment(name, value);
  }
  override histogram(name: string, ms: number): void {
    this.statsd?.histogram(name, ms);
  }

  override close(): void {
    this.statsd?.close();
    super.close();
  }
}
