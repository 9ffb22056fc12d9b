/**
 * @module
 * bunicorn-logfmt: a first-party logger plugin, written against bunicorn's public API only.
 * Access lines come out in logfmt (`method=GET path=/ status=200 duration_ms=0.4 ...`), which
 * log shippers such as Loki and Heroku's router parse without a grok pattern.
 *
 *     bunicorn app.ts --access-logfile - --logger-class egg:bunicorn-logfmt#logfmt
 *
 * The `"bunicorn": {"loggers": {...}}` field of this package's package.json is what
 * `egg:bunicorn-logfmt#logfmt` resolves through.
 */
import { Logger, type AccessRecord, type LoggerOptions, type Settings } from "bunicorn";

/** Quotes a logfmt value when it needs it; escapes `"` and `\` and control characters. */
export function logfmtValue(v: string | number | null): string {
  if (v === null) return '""';
  const s = String(v);
  if (s !== "" && /^[^\s="\\\x00-\x1f\x7f]+$/.test(s)) return s;
  return JSON.stringify(s);
}

export class LogfmtLogger extends Logger {
  constructor(cfg: Readonly<Settings>, options: LoggerOptions) {
    // Keep every target the settings give; only the access line's shape changes.
    super(cfg, options);
  }

  override access(r: AccessRecord): void {
    if (!this.accessEnabled) return;
    const q = r.target.indexOf("?");
    const fields: [string, string | number | null][] = [
      ["time", new Date(r.time).toISOString()],
      ["remote_addr", r.remoteAddress || null],
      ["method", r.method],
      ["path", q < 0 ? r.target : r.target.slice(0, q)],
      ["query", q < 0 ? "" : r.target.slice(q + 1)],
      ["status", r.status],
      ["bytes", r.bytes],
      ["duration_ms", Math.round(r.durationMs * 1000) / 1000],
      ["user_agent", r.requestHeader("user-agent")],
      ["pid", process.pid],
    ];
    this.writeAccessLine(fields.map(([k, v]) => `${k}=${logfmtValue(v)}`).join(" "));
  }
}
