/**
 * @module
 * Prometheus' text exposition format 0.0.4, as much of it as the arbiter's `/metrics` needs:
 * one `# HELP` and one `# TYPE` line per metric family, then its samples, label values escaped
 * (`\\`, `"`, newline), numbers as Go's `strconv.FormatFloat` writes them (`+Inf`, `NaN`).
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */

/** The `Content-Type` of the format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type MetricType = "counter" | "gauge" | "histogram";

export type Labels = Readonly<Record<string, string | number>>;

/** Builds one exposition, family by family. */
export class PrometheusText {
  private readonly lines: string[] = [];

  /** Starts a family: its `# HELP` and `# TYPE` lines. */
  family(name: string, type: MetricType, help: string): this {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  /** One sample line. */
  sample(name: string, value: number, labels?: Labels): this {
    this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  /**
   * A histogram's samples: cumulative `_bucket{le}` lines for `bounds` then `+Inf`, `_sum` and
   * `_count`. `perBucket` holds the count of each bucket alone (not cumulative), the last one
   * `+Inf`'s.
   */
  histogram(name: string, bounds: readonly number[], perBucket: readonly number[], sum: number, labels?: Labels): this {
    let cumulative = 0;
    for (let i = 0; i <= bounds.length; i++) {
      cumulative += perBucket[i] ?? 0;
      this.sample(`${name}_bucket`, cumulative, { ...labels, le: i < bounds.length ? formatValue(bounds[i]!) : "+Inf" });
    }
    this.sample(`${name}_sum`, sum, labels);
    return this.sample(`${name}_count`, cumulative, labels);
  }

  toString(): string {
    return this.lines.length === 0 ? "" : `${this.lines.join("\n")}\n`;
  }
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function escapeLabel(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return "";
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** A sample value: integers as they are, `+Inf`/`-Inf`/`NaN` spelled as Prometheus reads them. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
