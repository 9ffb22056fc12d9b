/**
 * @module The operator's settings of issue 12: the arbiter's metrics and health address
 * (`metrics_bind`), memory recycling (`max_memory`) and the drain delay before a SIGTERM stop
 * (`drain_delay`). None of them exists in Gunicorn (its #3581 declined memory recycling).
 */
import { parseBind } from "../../net/bind-address.ts";
import { ConfigError, defineSetting, type Validator } from "../setting.ts";
import * as v from "../validators.ts";

const METRICS_BIND_FORM = "expected HOST:PORT, [v6]:PORT or unix:PATH";

/** `metrics_bind`: `HOST:PORT`, `[v6]:PORT` or `unix:PATH` (a TCP address needs its port). */
const metricsBind: Validator<string | null> = (x, name) => {
  const s = v.optionalString(x, name);
  if (s === null || s.trim() === "") return null;
  const spec = s.trim();
  let kind: string;
  try {
    const addr = parseBind(spec, -1);
    kind = addr.kind;
    if (addr.kind === "tcp" && addr.port <= 0) throw new Error("no port");
  } catch {
    throw new ConfigError(`Invalid value for ${name}: ${JSON.stringify(s)} (${METRICS_BIND_FORM})`);
  }
  if (kind === "fd") throw new ConfigError(`Invalid value for ${name}: ${JSON.stringify(s)} (${METRICS_BIND_FORM}; an inherited fd:// socket is for --bind only)`);
  return spec;
};

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `max_memory`: bytes, or a size with a K, M or G suffix (powers of 1024; `512M`, `1.5G`, `512MB`). 0 = off. */
export const byteSize: Validator<number> = (x, name) => {
  if (typeof x === "number" && Number.isSafeInteger(x) && x >= 0) return x;
  if (typeof x === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(x);
    if (m !== null && (m[2] !== "" || !m[1]!.includes("."))) {
      const bytes = Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
      if (Number.isSafeInteger(bytes)) return bytes;
    }
  }
  throw new ConfigError(`Invalid value for ${name}: ${JSON.stringify(x)} (expected a number of bytes, or a size with a K, M or G suffix such as 512M; 0 turns it off)`);
};

export const operationsSettings = [
  defineSetting({
    name: "metrics_bind",
    section: "Server Mechanics",
    cli: ["--metrics-bind"],
    meta: "ADDRESS",
    default: () => null as string | null,
    validate: metricsBind,
    scope: "both",
    support: "translated",
    bunNote:
      "New in bunicorn (Gunicorn has no metrics endpoint; it has statsd). Served by the arbiter's own event loop, so a worker stuck in a loop never delays it. Off by default: the arbiter then loads none of this code, and workers count nothing.",
    description: `The address of the arbiter's metrics and health endpoints: \`HOST:PORT\`, \`[v6]:PORT\` or \`unix:PATH\`.

Off unless set. The arbiter answers there (any method, plain HTTP):

- \`/metrics\`: Prometheus text format (0.0.4), aggregated across workers over IPC:
  \`bunicorn_requests_total{status="2xx"}\` (by status class), the
  \`bunicorn_request_duration_seconds\` histogram (the app's time until its Response was ready),
  \`bunicorn_requests_in_flight\`, \`bunicorn_workers\`, \`bunicorn_worker_restarts_total{reason}\`
  (\`timeout\`, \`memory\`, \`max_requests\`, \`crash\`), \`bunicorn_worker_rss_bytes{pid}\`,
  \`bunicorn_worker_heartbeat_age_seconds{pid}\` and \`bunicorn_listen_backlog{listener}\`.
  Totals survive worker restarts (a dead worker's last counts are kept);
- \`/healthz\`: 200 while the arbiter runs (a liveness probe);
- \`/readyz\`: 200 when at least \`workers\` workers are booted and serving and the server is
  not draining or stopping (see \`drain_delay\`), else 503 (a readiness probe);
- \`/stats\`: JSON, the arbiter and each worker (pid, age, requests, in flight, RSS, last
  heartbeat), as \`bunicorn ctl show stats\` shows them.

Counters reach the arbiter with each worker's heartbeat (about once a second). The address is
bound at start (a taken one is an \`Error:\` line) and kept across HUP.`,
  }),
  defineSetting({
    name: "max_memory",
    section: "Worker Processes",
    cli: ["--max-memory"],
    meta: "SIZE",
    default: () => 0,
    defaultDoc: "`0` (off)",
    validate: byteSize,
    scope: "arbiter",
    support: "translated",
    bunNote:
      "New in bunicorn (Gunicorn declined it, #3581; PM2's `max_memory_restart` polls every 30 s). Measured from the RSS each worker's heartbeat carries, about every second; the whole worker process counts (all its gthread threads).",
    description: `Recycle a worker whose resident memory (RSS) stays above this size.

Bytes, or a size with a \`K\`, \`M\` or \`G\` suffix (powers of 1024): \`--max-memory 512M\`.
0 (the default) turns it off. A worker above the limit on two heartbeats in a row is replaced
gracefully, as \`max_requests\` replaces one: its replacement boots first, then it gets SIGTERM
and finishes its requests. The log says why
(\`Worker (pid:N) RSS 600 MB over max_memory 512 MB: recycling\`), and the metrics count it
(\`bunicorn_worker_restarts_total{reason="memory"}\`). Only one worker is recycled for memory at
a time, so a leak cannot take the whole pool down at once.`,
  }),
  defineSetting({
    name: "drain_delay",
    section: "Server Mechanics",
    cli: ["--drain-delay"],
    meta: "SECONDS",
    default: () => 0,
    validate: v.seconds,
    scope: "arbiter",
    support: "translated",
    bunNote:
      "New in bunicorn (Gunicorn has none; Kubernetes' own API server calls it `--shutdown-delay-duration`). Only SIGTERM waits (INT and QUIT stop at once, and one of them during the delay ends it).",
    description: `Seconds to keep serving after SIGTERM before the graceful stop begins.

For load balancers that route by a readiness probe (Kubernetes): on SIGTERM the arbiter turns
\`/readyz\` on the \`metrics_bind\` address to 503 at once, keeps every worker serving for this
many seconds, so the balancer notices and stops sending traffic, then stops as usual (workers
finish their requests within \`graceful_timeout\`). Keep \`drain_delay\` + \`graceful_timeout\`
under the platform's kill grace period (Kubernetes: \`terminationGracePeriodSeconds\`, 30 s by
default). 0 (the default) stops at once.`,
  }),
] as const;
