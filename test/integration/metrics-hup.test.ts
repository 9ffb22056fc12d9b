// metrics_bind across HUP (reuse-port TCP): a config file that sets, moves or unsets the metrics
// address takes effect on HUP, as the control socket's does; the totals so far are kept.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, freePort, get, killAll, startBunicorn, waitFor } from "../support/harness.ts";
import { parsePrometheus } from "../support/prometheus.ts";

const dir = mkdtempSync(join(tmpdir(), "bunicorn-metrics-hup-"));
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

const scrape = async (sock: string) => parsePrometheus(await (await get("http://localhost/metrics", { unix: sock })).text());
const twoXX = async (sock: string) => (await scrape(sock)).value("bunicorn_requests_total", { status: "2xx" });

test("HUP sets, moves and unsets metrics_bind; the totals move with it", async () => {
  const [a, b] = [join(dir, "a.sock"), join(dir, "b.sock")];
  const config = join(dir, "metrics.config.json");
  writeFileSync(config, JSON.stringify({}));
  const port = await freePort();
  const s = await startBunicorn(["-c", config, `${FIXTURES}/app.ts`, "-w", "1", "-b", `127.0.0.1:${port}`, "--timeout", "2"], { workers: 1 });
  const hup = async (settings: object, expectLog: RegExp): Promise<void> => {
    writeFileSync(config, JSON.stringify(settings));
    const from = s.output().length;
    s.signal("SIGHUP");
    await waitFor(`${expectLog} after HUP`, () => expectLog.test(s.output().slice(from)), 10_000);
  };
  // Set by a HUP.
  await hup({ metrics_bind: `unix:${a}` }, /Metrics at: unix:/);
  // Counted by the workers of the new generation (the HUP's config has metrics_bind): requests
  // until 3 are counted (the old worker may answer the first ones while it retires).
  await waitFor("3 requests counted", async () => (await get(`http://127.0.0.1:${port}/`)).status === 200 && (await twoXX(a)) >= 3, 10_000, 200);
  // Moved: the old address goes, the new one answers with the same totals (and more).
  await hup({ metrics_bind: `unix:${b}` }, /Metrics at: unix:/);
  expect(existsSync(a)).toBe(false);
  expect(await twoXX(b)).toBeGreaterThanOrEqual(3);
  expect((await get("http://localhost/healthz", { unix: b })).status).toBe(200);
  // Unset.
  await hup({}, /Metrics address closed/);
  expect(existsSync(b)).toBe(false);
  expect(await s.stop()).toBe(0);
}, 40_000);
