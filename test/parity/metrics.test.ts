// Shared behaviour suite: the metrics address (`metrics_bind`) counts the same requests in every
// mode, answers while a worker is stuck in a loop, and the stuck worker's timeout names the
// request it was handling (stuck-worker forensics).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { waitFor } from "../support/harness.ts";
import { parsePrometheus, type Exposition } from "../support/prometheus.ts";
import { forEachMode, type Served } from "./modes.ts";

const APP = new URL("./fixtures/metrics-app.ts", import.meta.url).pathname;

/** GET `path` on the metrics socket (a unix socket in the test's temp dir). */
function scrape(s: Served, path: string): Promise<Response> {
  return fetch(`http://localhost${path}`, { unix: join(s.dir, "metrics.sock"), signal: AbortSignal.timeout(5000) } as RequestInit);
}

async function metrics(s: Served): Promise<Exposition> {
  const res = await scrape(s, "/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parsePrometheus(await res.text());
}

const total = (m: Exposition): number => m.samples("bunicorn_requests_total").reduce((a, s) => a + s.value, 0);

/** The requests each case sends, by status class: 1xx..5xx. */
const SENT = [0, 4, 1, 2, 1];

forEachMode("metrics", { app: APP, args: ["--metrics-bind", "unix:DIR/metrics.sock", "--timeout", "2"] }, (srv, mode) => {
  let before = 0;

  test("a scrape parses, and its counters are the requests made, by status class", async () => {
    const s = srv();
    const paths = ["/", "/", "/", "/slow?ms=30", "/status?code=302", "/nope", "/status?code=403", "/error"];
    for (const p of paths) await (await s.fetch(p, { redirect: "manual" })).arrayBuffer();
    // Counts come with the heartbeats (every 500 ms with --timeout 2).
    const m = await waitFor("every request counted", async () => {
      const m = await metrics(s);
      return total(m) === paths.length ? m : null;
    });
    SENT.forEach((n, i) => expect(m.value("bunicorn_requests_total", { status: `${i + 1}xx` })).toBe(n));
    // The histogram: parsePrometheus checked buckets ascending, monotonic, +Inf == _count.
    expect(m.value("bunicorn_request_duration_seconds_count")).toBe(paths.length);
    expect(m.value("bunicorn_request_duration_seconds_bucket", { le: "+Inf" })).toBe(paths.length);
    // /slow took 30 ms: at least one request above the 25 ms bucket, the sum at least that.
    expect(m.value("bunicorn_request_duration_seconds_bucket", { le: "0.025" })).toBeLessThan(paths.length);
    expect(m.value("bunicorn_request_duration_seconds_sum")).toBeGreaterThanOrEqual(0.03);
    expect(m.value("bunicorn_requests_in_flight")).toBe(0);
    expect(m.value("bunicorn_workers", { state: "serving" })).toBe(1);
    expect(m.value("bunicorn_workers_target")).toBe(1);
    for (const reason of ["timeout", "memory", "max_requests", "crash"]) expect(m.value("bunicorn_worker_restarts_total", { reason })).toBe(0);
    const pid = (await (await s.fetch("/pid")).text()).trim();
    expect(m.value("bunicorn_worker_rss_bytes", { pid })).toBeGreaterThan(10 * 1024 * 1024);
    expect(m.value("bunicorn_worker_heartbeat_age_seconds", { pid })).toBeLessThan(1.5);
    expect(m.value("bunicorn_listen_backlog", { mode: mode.listen })).toBe(mode.listen === "reuse-port" ? 512 : 2048);
    for (const f of m.families.values()) expect(f.help.length).toBeGreaterThan(10);
    before = paths.length + 1;
  });

  test("/healthz, /readyz and /stats", async () => {
    const s = srv();
    expect((await scrape(s, "/healthz")).status).toBe(200);
    const ready = await scrape(s, "/readyz");
    expect([ready.status, await ready.text()]).toEqual([200, "ready\n"]);
    const pid = Number(await (await s.fetch("/pid")).text());
    const stats = await waitFor("the /pid request in /stats", async () => {
      const st = (await (await scrape(s, "/stats")).json()) as { arbiter: { pid: number; requests: number }; workers: { pid: number; requests: number; inFlight: number; rss: number; heartbeatAge: number; uptime: number }[] };
      return st.arbiter.requests === before + 1 ? st : null;
    });
    expect(stats.arbiter.pid).toBe(s.b.pid);
    expect(stats.workers.map((w) => w.pid)).toEqual([pid]);
    const w = stats.workers[0]!;
    expect(w.requests).toBe(before + 1);
    expect(w.inFlight).toBe(0);
    expect(w.rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(w.heartbeatAge).toBeLessThan(1.5);
    expect(w.uptime).toBeGreaterThan(0);
    expect((await scrape(s, "/nope")).status).toBe(404);
    expect((await fetch("http://localhost/metrics", { method: "POST", unix: join(s.dir, "metrics.sock") } as RequestInit)).status).toBe(405);
    before += 1;
  });

  test("a worker stuck in a loop: every endpoint answers within a second, its timeout names GET /spin, totals are kept", async () => {
    const s = srv();
    // The worker reports the first request after each heartbeat (every 500 ms here) before it
    // runs: let one pass since the last request, so /spin is that first one.
    await Bun.sleep(600);
    // A raw connection: fetch would retry a GET on a reset connection (and get the next worker stuck).
    const stuck = await s.connect();
    stuck.write("GET /spin HTTP/1.1\r\nHost: x\r\n\r\n");
    // The request reaches the app at once; from then on its event loop is blocked.
    await Bun.sleep(300);
    for (const path of ["/metrics", "/healthz", "/readyz", "/stats"]) {
      const t0 = performance.now();
      const res = await scrape(s, path);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    // gthread: the process's main thread finds its thread stuck; otherwise the arbiter finds the worker silent.
    const line = mode.gthread ? /THREAD TIMEOUT[^\n]*\n(?:[^\n]*\n)*?[^\n]*Thread \d+ was handling: GET \/spin \((\d+\.\d) s\)/ : /WORKER TIMEOUT \(pid:\d+\)\n[^\n]*Worker \(pid:\d+\) was handling: GET \/spin \((\d+\.\d) s\)/;
    const m = await s.b.waitForLog(line, 10_000);
    expect(Number(m[1])).toBeGreaterThanOrEqual(1.9);
    expect(Number(m[1])).toBeLessThan(5);
    await stuck.waitClosed(5000);
    // A killed worker process is a restart for timeout (gthread in shared-socket mode replaces the thread only).
    const restarts = mode.gthread && mode.listen === "shared-socket" ? 0 : 1;
    await waitFor("the restart counted, a worker serving", async () => {
      const m = await metrics(s);
      return m.value("bunicorn_worker_restarts_total", { reason: "timeout" }) === restarts && m.value("bunicorn_workers", { state: "serving" }) === 1 && m.value("bunicorn_workers", { state: "booting" }) === 0;
    }, 15_000);
    expect((await s.fetch("/")).status).toBe(200);
    // The dead worker's (or thread's) last counts stay in the totals.
    const after = await waitFor("the totals kept, the new request counted", async () => {
      const m = await metrics(s);
      return total(m) === before + 1 ? m : null;
    });
    expect(after.value("bunicorn_requests_total", { status: "2xx" })).toBe(SENT[1]! + 2 + 1);
  });
});
