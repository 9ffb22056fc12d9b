/**
 * A logger class that extends bunicorn's default logger: access lines become one JSON object
 * each, with the fields a log shipper indexes; error lines, syslog, `--log-level`, USR1 reopening
 * and every other setting work as with the default logger.
 *
 *     bunicorn app.ts --access-logfile - --logger-class examples/plugins/json-logger.ts#JsonLinesLogger
 */
import { Logger, type AccessRecord } from "bunicorn/logger";

export class JsonLinesLogger extends Logger {
  override access(r: AccessRecord): void {
    if (!this.accessEnabled) return;
    this.writeAccessLine(
      JSON.stringify({
        time: new Date(r.time).toISOString(),
        client: r.remoteAddress,
        method: r.method,
        target: r.target,
        status: r.status,
        bytes: r.bytes,
        ms: Math.round(r.durationMs * 100) / 100,
        agent: r.requestHeader("user-agent"),
      }),
    );
  }
}
