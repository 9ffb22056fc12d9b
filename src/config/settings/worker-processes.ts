/** @module Settings of the "Worker Processes" section. */
import { DEFAULT_BODY_MIN_RATE, DEFAULT_BODY_TIMEOUT } from "../../http/body-timeout.ts";
import { defineSetting } from "../setting.ts";
import * as v from "../validators.ts";

export const workerProcessesSettings = [
  defineSetting({
    name: "workers",
    section: "Worker Processes",
    cli: ["-w", "--workers"],
    meta: "INT",
    default: (env = process.env) => (env.WEB_CONCURRENCY ? v.positiveInt(env.WEB_CONCURRENCY, "WEB_CONCURRENCY") : 1),
    defaultDoc: "`1` (or `WEB_CONCURRENCY`)",
    validate: v.positiveInt,
    scope: "arbiter",
    support: "supported",
    description: `The number of worker processes for handling requests.

A positive integer generally in the 2-4 x $(NUM_CORES) range. By default, the value of the
\`WEB_CONCURRENCY\` environment variable, which is set by some Platform-as-a-Service providers. If
it is not defined, the default is 1.`,
  }),
  defineSetting({
    name: "worker_class",
    section: "Worker Processes",
    cli: ["-k", "--worker-class"],
    meta: "STRING",
    default: () => "sync" as string | Function,
    validate: v.classRef,
    scope: "both",
    support: "translated",
    bunNote:
      "Built in: `sync` (alias `process`: one Bun process per worker), `gthread` (one process running `threads` Bun `Worker` threads) and `node` (the first-party plugin `egg:bunicorn-node#node`: the app is a Node `(req, res)` handler such as an Express app; runs in threads with `--threads N`). Plugins: `egg:PACKAGE#NAME` (the package's `package.json` `bunicorn.workers` map) or `PATH#EXPORT`.",
    description: `The type of workers to use.

The default class (\`sync\`) should handle most "normal" types of workloads: each worker is one
Bun process serving with Bun's event loop. \`gthread\` runs \`threads\` Bun \`Worker\` threads in
each worker process. \`node\` serves a Node \`(req, res)\` handler (Express, Koa's
\`app.callback()\`, an \`http.createServer\` listener) instead of a fetch app. You can provide
your own worker class by plugin name or module path; it should extend the \`Worker\` class
exported by bunicorn. If \`threads\` is more than 1 with \`sync\`, \`gthread\` is used instead.`,
  }),
  defineSetting({
    name: "threads",
    section: "Worker Processes",
    cli: ["--threads"],
    meta: "INT",
    default: () => 1,
    validate: v.positiveInt,
    scope: "worker",
    support: "translated",
    bunNote: "Bun `Worker` threads, each with its own event loop and its own listener: a thread runs JavaScript in parallel, unlike a Python thread.",
    description: `The number of worker threads for handling requests.

Run each worker with the specified number of threads. This setting only affects the \`gthread\`
worker type. If you use the \`sync\` worker type and set \`threads\` to more than 1, the
\`gthread\` worker type is used instead.`,
  }),
  defineSetting({
    name: "worker_connections",
    section: "Worker Processes",
    cli: ["--worker-connections"],
    meta: "INT",
    default: () => 1000,
    validate: v.positiveInt,
    scope: "worker",
    support: "translated",
    bunNote: "Every Bun worker is asynchronous, so this caps the requests in flight in each worker (per thread for `gthread`): beyond it clients get a plain 503 at once.",
    description: "The maximum number of simultaneous clients (requests in flight per worker).",
  }),
  defineSetting({
    name: "max_requests",
    section: "Worker Processes",
    cli: ["--max-requests"],
    meta: "INT",
    default: () => 0,
    validate: v.posInt,
    scope: "worker",
    support: "supported",
    description: `The maximum number of requests a worker will process before restarting.

Any value greater than zero will limit the number of requests a worker will process before
automatically restarting. This is a simple method to help limit the damage of memory leaks. If
this is set to zero (the default) then the automatic worker restarts are disabled.`,
  }),
  defineSetting({
    name: "max_requests_jitter",
    section: "Worker Processes",
    cli: ["--max-requests-jitter"],
    meta: "INT",
    default: () => 0,
    validate: v.posInt,
    scope: "worker",
    support: "supported",
    description: `The maximum jitter to add to the \`max_requests\` setting.

The jitter causes the restart per worker to be randomized by \`randint(0, max_requests_jitter)\`.
This is intended to stagger worker restarts to avoid all workers restarting at the same time.`,
  }),
  defineSetting({
    name: "timeout",
    section: "Worker Processes",
    cli: ["-t", "--timeout"],
    meta: "INT",
    default: () => 30,
    validate: v.posInt,
    scope: "arbiter",
    support: "translated",
    bunNote: "A liveness timeout: workers heartbeat over IPC from their event loop every `timeout/2` s at most; a worker whose loop is stuck (e.g. `while(true){}`) gets SIGABRT, then SIGKILL.",
    description: `Workers silent for more than this many seconds are killed and restarted.

Value is a positive number or 0. Setting it to 0 has the effect of infinite timeouts by disabling
timeouts for all workers entirely. Generally, the default of thirty seconds should suffice.`,
  }),
  defineSetting({
    name: "graceful_timeout",
    section: "Worker Processes",
    cli: ["--graceful-timeout"],
    meta: "INT",
    default: () => 30,
    validate: v.posInt,
    scope: "arbiter",
    support: "supported",
    description: `Timeout for graceful workers restart.

After receiving a restart signal, workers have this much time to finish serving requests.
Workers still alive after the timeout (starting from the receipt of the restart signal) are force
killed.

Meanwhile keep-alive connections are drained, in every mode: a stopping worker answers each
connection's next request with \`Connection: close\` and closes one that stays idle for 1 s, so
a reload (HUP, USR2, TTOU, \`max_requests\`) loses no keep-alive request. A TERM with nothing to
take over (no USR2 arbiter alongside, no \`drain_delay\`) closes idle connections at once.`,
  }),
  defineSetting({
    name: "keepalive",
    section: "Worker Processes",
    cli: ["--keep-alive"],
    meta: "INT",
    default: () => 2,
    validate: v.posInt,
    scope: "worker",
    support: "translated",
    bunNote: "Every bunicorn worker keeps connections alive (unlike Gunicorn's sync worker); 0 disables keep-alive. A connection is never closed while a request or a streamed response is in progress. An idle one is closed after `keepalive` seconds: by a 1 s sweep in shared-socket mode, and in reuse-port mode on Bun.serve's 4-second timer tick, up to 8 s later (`keepalive` rounded up to a multiple of 4, plus 4: 4-8 s for the default 2; Bun caps the timer at 252-256 s).",
    description: `The number of seconds to wait for requests on a Keep-Alive connection.

Generally set in the 1-5 seconds range for servers with direct connection to the client (e.g. when
you don't have separate load balancer). When bunicorn is deployed behind a load balancer, it often
makes sense to set this to a higher value.`,
  }),
  defineSetting({
    name: "body_timeout",
    section: "Worker Processes",
    cli: ["--body-timeout"],
    meta: "INT",
    default: () => DEFAULT_BODY_TIMEOUT,
    validate: v.posInt,
    scope: "worker",
    support: "translated",
    bunNote:
      "New in bunicorn (Gunicorn has none: its sync worker is killed by `timeout` while it waits for a stalled body), after Apache's mod_reqtimeout `body=20`. The same in every mode: under Bun.serve (reuse-port mode) the body the app reads is watched as it arrives; in shared-socket mode the engine times its reads. A body is cut within a second of the limit; in reuse-port mode an app that holds on after its read failed is cut on Bun's next 4-second timer tick. Only HTTP/1.1 was tested: over HTTP/2 (`http_protocols`), Bun's timer belongs to the whole connection.",
    description: `The longest pause, in seconds, while a request body is being received.

When bunicorn waits for a request body's next bytes and none come for this many seconds, the
app's read of the body fails (a \`RequestTimeout\` error), the client gets a plain
\`408 Request Timeout\` and the connection is closed. Only time spent waiting for the client counts:
an app that reads its body late, or works a long time after reading it, keeps its time (\`timeout\`
is the worker's heartbeat, not a request limit). This is also the grace period before
\`body_min_rate\` applies. 0 disables the pause limit.`,
  }),
  defineSetting({
    name: "body_min_rate",
    section: "Worker Processes",
    cli: ["--body-min-rate"],
    meta: "INT",
    default: () => DEFAULT_BODY_MIN_RATE,
    validate: v.posInt,
    scope: "worker",
    support: "translated",
    bunNote: "New in bunicorn (Gunicorn has none), after Apache's mod_reqtimeout `MinRate=500`. Enforced in every mode, as `body_timeout` is.",
    description: `The minimum average rate, in bytes per second, of a request body.

Once a body has been awaited for \`body_timeout\` seconds, it must have arrived at this average
rate over the time spent waiting for it: with W seconds waited and B bytes received, it is cut
(408, as for \`body_timeout\`) when W > body_timeout + B / body_min_rate. So a body trickling at 1
byte per second is cut just after \`body_timeout\` (about 20 s with the defaults), and a body
arriving at this rate or faster never is. 0 disables the rate limit.`,
  }),
  defineSetting({
    name: "boot_timeout",
    section: "Worker Processes",
    cli: ["--boot-timeout"],
    meta: "INT",
    default: () => 60,
    validate: v.posInt,
    scope: "arbiter",
    support: "translated",
    bunNote: "New in bunicorn (Gunicorn has none): the arbiter's limit on a worker's start-up.",
    description: `Workers that have not reported ready (app loaded, listening) this many seconds after
being spawned are killed and counted as failed boots. 0 disables the limit.`,
  }),
] as const;
