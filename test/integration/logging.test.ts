/**
 * Logging with real files and real sockets: the error and access logs (every atom, JSON with
 * escaping), rotation under load (move + USR1 loses no line), capture_output, syslog over UDP
 * and TCP, statsd over UDP, a logger plugin and a logconfig file.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unixDatagramReceiver } from "../support/unix-dgram-receiver.ts";
import { FIXTURES, freePort, get, killAll, sleep, startBunicorn, waitFor } from "../support/harness.ts";

afterEach(killAll);
afterAll(killAll);

const tmp = () => mkdtempSync(join(tmpdir(), "bunicorn-log-"));
const lines = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : []);

/** A UDP receiver the test owns (statsd or syslog stand-in). */
async function udpReceiver(): Promise<{ port: number; messages: string[]; close(): void }> {
  const sock = dgram.createSocket("udp4");
  const messages: string[] = [];
  sock.on("message", (m) => messages.push(...m.toString().split("\n")));
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  return { port: sock.address().port, messages, close: () => sock.close() };
}

describe("error and access log files", () => {
  for (const mode of ["reuse-port", "shared-socket"] as const) {
    test(`${mode}: Gunicorn-shaped error lines and the default access format`, async () => {
      const dir = tmp();
      const error = join(dir, "error.log");
      const access = join(dir, "access.log");
      const port = await freePort();
      const extra = mode === "shared-socket" ? ["--no-reuse-port"] : [];
      const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--error-logfile", error, "--access-logfile", access, ...extra], {
        workers: 1,
        ready: null,
        env: { BUNICORN_LOGLEVEL: "info" },
      });
      await waitFor("boot", () => lines(error).some((l) => l.includes("Booting worker with pid")));
      await sleep(300);
      const res = await get(`http://127.0.0.1:${port}/sized?x=1`, { headers: { "user-agent": 'evil"agent', referer: "http://ref.example/" } });
      expect(res.status).toBe(200);
      await waitFor("the access line", () => lines(access).length === 1);
      expect(await b.stop()).toBe(0);
      const [line] = lines(access);
      expect(line).toMatch(/^127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET \/sized\?x=1 HTTP\/1\.1" 200 10 "http:\/\/ref\.example\/" "evil\\"agent"$/);
      const err = lines(error);
      expect(err[0]).toMatch(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}\] \[\d+\] \[INFO\] Starting bunicorn /);
      expect(err.some((l) => / \[INFO\] Listening at: http:\/\/127\.0\.0\.1:\d+ \(\d+\)$/.test(l))).toBe(true);
      expect(err.some((l) => / \[INFO\] Handling signal: term$/.test(l))).toBe(true);
      expect(err.some((l) => / \[INFO\] Worker exiting \(pid: \d+\)$/.test(l))).toBe(true);
      expect(err.some((l) => / \[INFO\] Shutting down: Master$/.test(l))).toBe(true);
    });
  }

  test("every atom of access_log_format", async () => {
    const dir = tmp();
    const access = join(dir, "access.log");
    const port = await freePort();
    const format = "%(h)s|%(l)s|%(u)s|%(t)s|%(r)s|%(m)s|%(U)s|%(q)s|%(H)s|%(s)s|%(B)s|%(b)s|%(f)s|%(a)s|%(T)s|%(M)s|%(D)s|%(L)s|%(p)s|%({x-req}i)s|%({x-trace}o)s|%({log_test_var}e)s|%(nope)s";
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--access-logfile", access, "--access-logformat", format, "--no-reuse-port"], {
      workers: 1,
      env: { LOG_TEST_VAR: "envval" },
    });
    const auth = `Basic ${btoa("alice:secret")}`;
    await get(`http://127.0.0.1:${port}/sized?k=v`, { headers: { "x-req": "rq", authorization: auth, "user-agent": "ua/1", referer: "r" } });
    await waitFor("the access line", () => lines(access).length === 1);
    const f = lines(access)[0]!.split("|");
    const pid = b.workers()[0];
    expect(f[0]).toBe("127.0.0.1");
    expect(f[1]).toBe("-");
    expect(f[2]).toBe("alice");
    expect(f[3]).toMatch(/^\[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]$/);
    expect(f.slice(4, 13)).toEqual(["GET /sized?k=v HTTP/1.1", "GET", "/sized", "k=v", "HTTP/1.1", "200", "10", "10", "r"]);
    expect(f[13]).toBe("ua/1");
    expect(f[14]).toBe("0");
    expect(Number(f[15])).toBeGreaterThanOrEqual(0);
    expect(Number(f[16])).toBeGreaterThanOrEqual(Number(f[15]));
    expect(f[17]).toMatch(/^\d+\.\d{6}$/);
    expect(f[18]).toBe(`<${pid}>`);
    expect(f.slice(19)).toEqual(["rq", "t-1", "envval", "-"]);
    expect(await b.stop()).toBe(0);
  });

  test("JSON access log: one object a line, header values cannot forge fields", async () => {
    const dir = tmp();
    const access = join(dir, "access.log");
    const port = await freePort();
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--access-logfile", access, "--access-logformat", "json", "--no-reuse-port"], { workers: 1 });
    const forged = 'x", "status": 999, "y": "';
    await get(`http://127.0.0.1:${port}/?a="b"`, { headers: { "user-agent": forged } });
    await waitFor("the access line", () => lines(access).length === 1);
    const rec = JSON.parse(lines(access)[0]!);
    expect(rec.status).toBe(200);
    expect(rec.user_agent).toBe(forged);
    expect(rec.method).toBe("GET");
    expect(rec.path).toBe("/");
    expect(rec.pid).toBe(b.workers()[0]);
    expect(await b.stop()).toBe(0);
  });
});

test("rotation under load: move the access log, USR1, and every request has its line", async () => {
  const dir = tmp();
  const access = join(dir, "access.log");
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "2", "-b", `127.0.0.1:${port}`, "--access-logfile", access, "--no-reuse-port"], { workers: 2 });
  let ok = 0;
  let rotated = false;
  const clients = Array.from({ length: 4 }, async () => {
    for (let i = 0; i < 150; i++) {
      const res = await get(`http://127.0.0.1:${port}/pid`);
      await res.text();
      if (res.status === 200) ok++;
      if (ok >= 200 && !rotated) {
        rotated = true;
        renameSync(access, `${access}.1`);
        b.signal("SIGUSR1");
      }
    }
  });
  await Promise.all(clients);
  await waitFor("the new file", () => existsSync(access));
  expect(await b.stop()).toBe(0);
  const before = lines(`${access}.1`).length;
  const after = lines(access).length;
  expect(ok).toBe(600);
  expect(before + after).toBe(600);
  expect(before).toBeGreaterThan(0);
  expect(after).toBeGreaterThan(0);
  for (const l of [...lines(`${access}.1`), ...lines(access)]) expect(l).toMatch(/^127\.0\.0\.1 - - \[.*\] "GET \/pid HTTP\/1\.1" 200 \d+ "-" "[^"]*"$/);
}, 60_000);

test("capture_output sends what the app prints to the error log, and follows it after a move and USR1", async () => {
  const dir = tmp();
  const error = join(dir, "error.log");
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--error-logfile", error, "--capture-output"], { workers: 1, ready: null });
  await waitFor("a worker", () => b.workers().length === 1);
  const worker = b.workers()[0];
  await waitFor("the worker to answer", async () => (await get(`http://127.0.0.1:${port}/print`)).status === 200);
  await waitFor("the captured output", () => lines(error).includes("app says hello") && lines(error).includes("app complains"));
  // logrotate: move, then USR1. The same worker's next output goes to the new file.
  renameSync(error, `${error}.1`);
  b.signal("SIGUSR1");
  // Without the worker re-pointing its fds, its output would stay in error.log.1 for good.
  await waitFor("the output in the new file", async () => {
    expect((await get(`http://127.0.0.1:${port}/print`)).status).toBe(200);
    return lines(error).includes("app says hello") && lines(error).includes("app complains");
  });
  expect(b.workers()).toEqual([worker!]);
  expect(await b.stop()).toBe(0);
});

describe("syslog", () => {
  test("udp: error and access lines with facility, prefix and level", async () => {
    const rx = await udpReceiver();
    const port = await freePort();
    const b = await startBunicorn(
      [`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--log-syslog", "--log-syslog-to", `udp://127.0.0.1:${rx.port}`, "--log-syslog-prefix", "shop", "--log-syslog-facility", "local3", "--access-logfile", "/dev/null"],
      { workers: 1, env: { BUNICORN_LOGLEVEL: "info" }, ready: /Booting worker/ },
    );
    await waitFor("the worker to answer", async () => (await get(`http://127.0.0.1:${port}/`)).status === 200);
    // local3 = 19: info = 19*8+6 = 158.
    await waitFor("error lines", () => rx.messages.some((m) => /^<158>bunicorn\.shop\.error: \[\d+\] \[INFO\] Booting worker with pid: \d+$/.test(m)));
    await waitFor("an access line", () => rx.messages.some((m) => /^<158>bunicorn\.shop\.access: 127\.0\.0\.1 - - \[.*\] "GET \/ HTTP\/1\.1" 200/.test(m)));
    expect(await b.stop()).toBe(0);
    rx.close();
  });

  test("tcp, with access lines kept out by disable_redirect_access_to_syslog", async () => {
    const got: string[] = [];
    const server = net.createServer((s) => s.on("data", (d) => got.push(...d.toString().split("\n").filter(Boolean))));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const rxPort = (server.address() as net.AddressInfo).port;
    const port = await freePort();
    const b = await startBunicorn(
      [`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--log-syslog", "--log-syslog-to", `tcp://127.0.0.1:${rxPort}`, "--disable-redirect-access-to-syslog", "--access-logfile", "/dev/null"],
      { workers: 1, env: { BUNICORN_LOGLEVEL: "info" }, ready: /Booting worker/ },
    );
    await waitFor("the worker to answer", async () => (await get(`http://127.0.0.1:${port}/`)).status === 200);
    await waitFor("error lines over tcp", () => got.some((m) => /^<14>bunicorn\.[^:]+\.error: \[\d+\] \[INFO\] Booting worker/.test(m)));
    await sleep(300);
    expect(got.some((m) => m.includes(".access:"))).toBe(false);
    expect(await b.stop()).toBe(0);
    server.close();
  });
});

test("statsd over UDP: request, status, duration, workers and log metrics with prefix and tags", async () => {
  const rx = await udpReceiver();
  const port = await freePort();
  const b = await startBunicorn(
    [`${FIXTURES}/app.ts`, "-w", "2", "-b", `127.0.0.1:${port}`, "--statsd-host", `127.0.0.1:${rx.port}`, "--statsd-prefix", "shop", "--dogstatsd-tags", "env:test,app:shop"],
    { workers: 2 },
  );
  for (let i = 0; i < 3; i++) await get(`http://127.0.0.1:${port}/`);
  await get(`http://127.0.0.1:${port}/crash`);
  const has = (re: RegExp) => rx.messages.some((m) => re.test(m));
  await waitFor("request metrics", () => rx.messages.filter((m) => m === "shop.bunicorn.requests:1|c|#env:test,app:shop").length >= 4);
  await waitFor("status metrics", () => has(/^shop\.bunicorn\.request\.status\.200:1\|c\|#env:test,app:shop$/) && has(/^shop\.bunicorn\.request\.status\.500:1\|c/));
  expect(has(/^shop\.bunicorn\.request\.duration:[\d.]+\|ms\|#env:test,app:shop$/)).toBe(true);
  await waitFor("the workers gauge", () => has(/^shop\.bunicorn\.workers:2\|g\|#env:test,app:shop$/));
  await waitFor("the error counter", () => has(/^shop\.bunicorn\.log\.error:1\|c/));
  expect(await b.stop()).toBe(0);
  rx.close();
});

test("a logger class plugin by PATH#EXPORT", async () => {
  const dir = tmp();
  const plugin = join(dir, "plugin.log");
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--logger-class", `${FIXTURES}/file-logger.ts#FileLogger`], { workers: 1, env: { PLUGIN_LOG: plugin } });
  await get(`http://127.0.0.1:${port}/pid?z=1`);
  await waitFor("the plugin's line", () => lines(plugin).includes("plugin GET /pid?z=1 200"));
  expect(await b.stop()).toBe(0);
});

test("logconfig_json: JSON error lines and an access target", async () => {
  const dir = tmp();
  const conf = join(dir, "log.json");
  const error = join(dir, "error.jsonl");
  const access = join(dir, "access.log");
  writeFileSync(conf, JSON.stringify({ error: { level: "info", targets: [error], format: "json" }, access: { targets: [access], format: "%(m)s %(U)s %(s)s" } }));
  const port = await freePort();
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--log-config-json", conf], { workers: 1, ready: null });
  await waitFor("the worker to answer", async () => (await get(`http://127.0.0.1:${port}/pid`)).status === 200);
  await waitFor("the access line", () => lines(access).includes("GET /pid 200"));
  expect(await b.stop()).toBe(0);
  const recs = lines(error).map((l) => JSON.parse(l));
  expect(recs[0]).toMatchObject({ level: "info", message: expect.stringMatching(/^Starting bunicorn /) });
  expect(recs.every((r) => typeof r.pid === "number" && typeof r.time === "string")).toBe(true);
});

describe("unix datagram targets", () => {
  test("syslog to unix://PATH#dgram (like /dev/log) and statsd to unix://PATH", async () => {
    const dir = tmp();
    const syslogPath = join(dir, "log.sock");
    const statsdPath = join(dir, "statsd.sock");
    const syslogRx = unixDatagramReceiver(syslogPath);
    const statsdRx = unixDatagramReceiver(statsdPath);
    const port = await freePort();
    const b = await startBunicorn(
      [`${FIXTURES}/app.ts`, "-b", `127.0.0.1:${port}`, "--log-syslog", "--log-syslog-to", `unix://${syslogPath}#dgram`, "--statsd-host", `unix://${statsdPath}`],
      { workers: 1, env: { BUNICORN_LOGLEVEL: "info" }, ready: /Booting worker/ },
    );
    try {
      expect(await syslogRx.recv(5000)).toMatch(/^<14>bunicorn\.[^:]+\.error: \[\d+\] \[INFO\] Starting bunicorn /);
      await waitFor("the worker to answer", async () => (await get(`http://127.0.0.1:${port}/`)).status === 200);
      const got: string[] = [];
      await waitFor("request metrics over the unix socket", async () => {
        got.push(...(await statsdRx.recv(2000)).split("\n"));
        return got.includes("bunicorn.requests:1|c");
      });
    } finally {
      expect(await b.stop()).toBe(0);
      syslogRx.close();
      statsdRx.close();
    }
  });

  test("systemd: READY=1 is sent once the workers are booted", async () => {
    const dir = tmp();
    const notify = join(dir, "notify.sock");
    const rx = unixDatagramReceiver(notify);
    const port = await freePort();
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-w", "2", "-b", `127.0.0.1:${port}`], { workers: 2, env: { NOTIFY_SOCKET: notify } });
    try {
      const msg = await rx.recv(5000);
      expect(msg).toContain("READY=1");
      expect(msg).toContain(`MAINPID=${b.pid}`);
      expect(msg).toContain("2 workers");
    } finally {
      expect(await b.stop()).toBe(0);
      rx.close();
    }
  });
});
