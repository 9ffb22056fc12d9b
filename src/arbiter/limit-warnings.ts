/**
 * @module
 * Warnings for parser limits set above what Gunicorn's parser allows: Gunicorn accepts any
 * `limit_request_line` and `limit_request_fields` and silently uses its maximum (8190, 32768)
 * instead; bunicorn accepts them the same way (the engine clamps, src/http/parser.ts) and says so
 * once at start.
 */
import type { Settings } from "../config/registry.ts";
import { MAX_HEADERS, MAX_REQUEST_LINE } from "../http/limits.ts";

/** One warning per limit that will be clamped. */
export function clampedLimitWarnings(cfg: Pick<Settings, "limit_request_line" | "limit_request_fields">): string[] {
  const out: string[] = [];
  if (cfg.limit_request_line > MAX_REQUEST_LINE) {
    out.push(`limit_request_line ${cfg.limit_request_line} is above ${MAX_REQUEST_LINE}: request lines are limited to ${MAX_REQUEST_LINE} bytes, as in Gunicorn.`);
  }
  if (cfg.limit_request_fields > MAX_HEADERS) {
    out.push(`limit_request_fields ${cfg.limit_request_fields} is above ${MAX_HEADERS}: requests are limited to ${MAX_HEADERS} header fields, as in Gunicorn.`);
  }
  return out;
}
