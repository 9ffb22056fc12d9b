/**
 * @module
 * `--print-config`: every setting with its effective value, one per line, aligned like
 * Gunicorn's (`name = value`), in docs order.
 */
import { SETTINGS, type Settings } from "./registry.ts";

/** Renders a value for display: JSON for data, `<function name>` for hooks. */
export function formatValue(value: unknown): string {
  if (typeof value === "function") return `<function ${value.name || "anonymous"}>`;
  if (value === undefined) return "null";
  return JSON.stringify(value);
}

export function formatConfig(settings: Settings): string {
  const width = Math.max(...SETTINGS.map((s) => s.name.length));
  const record = settings as unknown as Record<string, unknown>;
  return SETTINGS.map((s) => `${s.name.padEnd(width)} = ${formatValue(record[s.name])}`).join("\n");
}
