/**
 * @module
 * @internal A strict reader of Prometheus' text exposition format 0.0.4, for tests: it throws on
 * anything a Prometheus server would refuse (a sample before its family's `# TYPE`, a bad name,
 * label or value, a family declared twice), and checks each histogram (buckets in order,
 * cumulative counts that never go down, a `+Inf` bucket equal to `_count`).
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

export interface Exposition {
  families: Map<string, Family>;
  /** The value of the one sample `name` with exactly these labels (a subset is enough); throws if none or several. */
  value(name: string, labels?: Record<string, string>): number;
  /** Every sample named `name`. */
  samples(name: string): Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(s: string, line: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value ${JSON.stringify(s)} in: ${line}`);
  return Number(s);
}

function parseLabels(body: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf("=", i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const key = body.slice(i, eq).trim();
    if (!LABEL.test(key)) throw new Error(`bad label name ${JSON.stringify(key)} in: ${line}`);
    if (body[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
    let j = eq + 2;
    let value = "";
    for (;;) {
      if (j >= body.length) throw new Error(`unterminated label value in: ${line}`);
      const c = body[j]!;
      if (c === "\\") {
        const n = body[j + 1];
        value += n === "n" ? "\n" : n === '"' ? '"' : n === "\\" ? "\\" : (() => { throw new Error(`bad escape in: ${line}`); })();
        j += 2;
        continue;
      }
      if (c === '"') break;
      value += c;
      j++;
    }
    if (key in labels) throw new Error(`label ${key} repeated in: ${line}`);
    labels[key] = value;
    i = j + 1;
    if (body[i] === ",") i++;
    else if (i < body.length) throw new Error(`expected ',' between labels in: ${line}`);
  }
  return labels;
}

/** The family a sample belongs to: its own name, or a histogram's `_bucket`/`_sum`/`_count`. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && (f.type === "histogram" || f.type === "summary")) return f;
  }
  return undefined;
}

function checkHistogram(f: Family): void {
  const buckets = f.samples.filter((s) => s.name === `${f.name}_bucket`);
  if (buckets.length === 0) throw new Error(`histogram ${f.name} has no buckets`);
  let prevLe = -Infinity;
  let prevCount = 0;
  for (const b of buckets) {
    if (!("le" in b.labels)) throw new Error(`bucket without le in ${f.name}`);
    const le = parseValue(b.labels.le!, f.name);
    if (!(le > prevLe)) throw new Error(`buckets of ${f.name} not in increasing le order`);
    if (b.value < prevCount) throw new Error(`bucket counts of ${f.name} decrease at le=${b.labels.le}`);
    prevLe = le;
    prevCount = b.value;
  }
  if (prevLe !== Infinity) throw new Error(`histogram ${f.name} lacks a +Inf bucket`);
  const count = f.samples.find((s) => s.name === `${f.name}_count`);
  const sum = f.samples.find((s) => s.name === `${f.name}_sum`);
  if (!count || !sum) throw new Error(`histogram ${f.name} lacks _count or _sum`);
  if (count.value !== prevCount) throw new Error(`${f.name}_count ${count.value} != +Inf bucket ${prevCount}`);
}

/** Parses and checks an exposition; throws with the offending line. */
export function parsePrometheus(text: string): Exposition {
  if (text !== "" && !text.endsWith("\n")) throw new Error("exposition does not end with a newline");
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name!)) throw new Error(`bad metric name in: ${line}`);
      if (kind === "HELP") {
        if (helps.has(name!)) throw new Error(`HELP repeated for ${name}`);
        helps.set(name!, rest!);
      } else {
        if (families.has(name!)) throw new Error(`TYPE repeated for ${name}`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest!)) throw new Error(`bad type in: ${line}`);
        families.set(name!, { name: name!, type: rest!, help: helps.get(name!) ?? "", samples: [] });
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const name = m[1]!;
    const f = familyOf(name, families);
    if (!f) throw new Error(`sample before its family's TYPE: ${line}`);
    f.samples.push({ name, labels: m[3] ? parseLabels(m[3], line) : {}, value: parseValue(m[4]!, line) });
  }
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  const all = (): Sample[] => [...families.values()].flatMap((f) => f.samples);
  return {
    families,
    samples: (name) => all().filter((s) => s.name === name),
    value(name, labels = {}) {
      const hits = all().filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      if (hits.length !== 1) throw new Error(`${hits.length} samples match ${name} ${JSON.stringify(labels)}`);
      return hits[0]!.value;
    },
  };
}
