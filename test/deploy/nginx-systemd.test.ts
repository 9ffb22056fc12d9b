/**
 * The deploy kit's nginx config and systemd units (examples/deploy/nginx.conf, bunicorn.socket,
 * bunicorn.service), run as they are, with only their paths and ports moved into a temp
 * directory (docs/deploy.md, "What was tried"):
 *
 * - the units pass `systemd-analyze verify`, and the service's ExecStart passes --check-config;
 * - bunicorn is started as systemd would start it: the socket unit's socket (its path, backlog,
 *   owner, group and mode) made by the test and passed as fd 3 with `LISTEN_FDS`/`LISTEN_PID`,
 *   the service's ExecStart, WorkingDirectory, Environment and RuntimeDirectory, a fake
 *   `NOTIFY_SOCKET` and `WATCHDOG_USEC` from WatchdogSec (no systemd runs here, so `User=` is not
 *   applied: bunicorn runs as root);
 * - nginx runs nginx.conf in front of it (its `user www-data` kept, so the socket's group and mode
 *   are what lets it in; the temp paths are set into the temp directory): X-Forwarded-For and
 *   X-Forwarded-Proto reach the app, static files come from `root`, an unknown Host is closed
 *   (444), `/events` streams, `/ws` upgrades;
 * - ExecReload (HUP to the main pid) under a load through nginx loses no request, and the
 *   service comment's `bunicorn ctl` works; KillSignal (TERM) stops it with exit 0 and leaves
 *   systemd's socket file in place.
 *
 * One bunicorn and one nginx for the whole file.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { closeFd, openListenSocket, parseBind } from "../../src/net/index.ts";
import { resolveGroup } from "../../src/os/index.ts";
import { freePort, sleep, waitFor } from "../support/harness.ts";
import { notifyReceiver, type NotifyReceiver } from "../support/notify-receiver.ts";
import { appTree, example, flagValue, parseUnit, run, start, unitCommand, unitValue, type AppTree, type Running } from "./_kit.ts";

const HOST = "example.com";
let tree: AppTree;
let socketUnit: ReturnType<typeof parseUnit>;
let serviceUnit: ReturnType<typeof parseUnit>;
let unitDir: string;
let bunicorn: Running;
let nginx: Running | null = null;
let notify: NotifyReceiver;
let socketPath: string;
let socketFd: number | null = null;
const ports = { http: 0, https: 0 };

/** A path of the examples, moved under the temp directory. */
function moved(text: string): string {
  return text.replaceAll("/srv/app", `${tree.root}/srv/app`).replaceAll("/run/", `${tree.root}/run/`);
}

/** nginx.conf with its paths and ports moved (and nginx's temp paths set into the temp dir). */
function nginxConf(): string {
  const r = tree.root;
  const conf = moved(example("nginx.conf"))
    .replace(/listen (80|443)\b/g, (_, p: string) => `listen 127.0.0.1:${p === "80" ? ports.http : ports.https}`)
    .replaceAll("/var/log/nginx/", `${r}/log/`)
    .replace("include mime.types;", `include ${r}/nginx/mime.types;`)
    .replace("/etc/ssl/certs/example.com.pem", `${r}/nginx/cert.pem`)
    .replace("/etc/ssl/private/example.com.key", `${r}/nginx/key.pem`);
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `    ${t}_temp_path ${r}/nginx/tmp/${t};`).join("\n");
  return conf.replace(/^http \{$/m, `http {\n${temps}`);
}

/** A request through nginx (plain or TLS), with the Host the server block names. */
function viaNginx(path: string, o: { tls?: boolean; host?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const url = o.tls ? `https://127.0.0.1:${ports.https}${path}` : `http://127.0.0.1:${ports.http}${path}`;
  const init = { headers: { Host: o.host ?? HOST, ...o.headers }, signal: AbortSignal.timeout(10_000), ...(o.tls ? { tls: { rejectUnauthorized: false } } : {}) };
  return fetch(url, init as RequestInit);
}

interface Seen {
  url: string;
  client: string | null;
  pid: number;
}

beforeAll(async () => {
  tree = appTree();
  socketUnit = parseUnit(example("bunicorn.socket"));
  serviceUnit = parseUnit(example("bunicorn.service"));
  for (const d of ["run", "log", "nginx", "nginx/tmp", "units"]) mkdirSync(join(tree.root, d), { recursive: true, mode: 0o755 });
  unitDir = join(tree.root, "units");
  writeFileSync(join(unitDir, "bunicorn.socket"), moved(example("bunicorn.socket")));
  writeFileSync(join(unitDir, "bunicorn.service"), moved(example("bunicorn.service")));

  // bunicorn.socket, as systemd makes it: the path, the backlog, then the owner and the mode.
  socketPath = moved(unitValue(socketUnit, "Socket", "ListenStream"));
  socketFd = openListenSocket(parseBind(`unix:${socketPath}`), { backlog: Number(unitValue(socketUnit, "Socket", "Backlog")) });
  chownSync(socketPath, unitValue(socketUnit, "Socket", "SocketUser") === "root" ? 0 : -1, resolveGroup(unitValue(socketUnit, "Socket", "SocketGroup")));
  chmodSync(socketPath, Number.parseInt(unitValue(socketUnit, "Socket", "SocketMode"), 8));

  // bunicorn.service: RuntimeDirectory= made, ExecStart= run with the socket as fd 3.
  mkdirSync(join(tree.root, "run", unitValue(serviceUnit, "Service", "RuntimeDirectory")), { mode: 0o755 });
  notify = notifyReceiver(join(tree.root, "notify.sock"));
  const env: Record<string, string> = {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    NOTIFY_SOCKET: notify.path,
    WATCHDOG_USEC: String(Number(unitValue(serviceUnit, "Service", "WatchdogSec")) * 1_000_000),
    LISTEN_FDNAMES: "bunicorn.socket",
  };
  for (const e of serviceUnit.Service!.Environment ?? []) env[e.slice(0, e.indexOf("="))] = e.slice(e.indexOf("=") + 1);
  const execStart = unitCommand(moved(unitValue(serviceUnit, "Service", "ExecStart")));
  // systemd sets LISTEN_PID to the service's main pid: the shell's, which execs ExecStart.
  bunicorn = start(["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh", ...execStart], { cwd: moved(unitValue(serviceUnit, "Service", "WorkingDirectory")), env, fds: [socketFd] });
  await notify.waitFor(/^READY=1/, 20_000).catch((e) => {
    throw new Error(`${(e as Error).message}\n--- bunicorn ---\n${bunicorn.output()}`);
  });

  // nginx.conf, with a self-signed certificate for its TLS listener.
  [ports.http, ports.https] = [await freePort(), await freePort()];
  const cert = await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", `/CN=${HOST}`], {
    cwd: join(tree.root, "nginx"),
    env: { PATH: "/usr/bin:/bin" },
  });
  if (cert.code !== 0) throw new Error(`openssl: ${cert.out}`);
  writeFileSync(join(tree.root, "nginx/mime.types"), "types {\n    text/html html;\n    text/plain txt;\n}\n");
  writeFileSync(join(tree.root, "nginx/nginx.conf"), nginxConf());
  const nginxBin = Bun.which("nginx") ?? Bun.which("nginx", { PATH: "/usr/sbin:/usr/local/sbin:/sbin" });
  if (nginxBin === null) throw new Error("nginx is not installed (apt-get install -y nginx-light; .ci/run does it)");
  const errorLog = join(tree.root, "log/error.log");
  nginx = start([nginxBin, "-p", join(tree.root, "nginx"), "-c", join(tree.root, "nginx/nginx.conf"), "-e", errorLog, "-g", "daemon off;"], { cwd: tree.root, env: { PATH: "/usr/bin:/bin" } });
  await waitFor(
    "nginx to answer",
    async () => {
      if (nginx!.proc.exitCode !== null) throw new Error(`nginx exited ${nginx!.proc.exitCode}: ${nginx!.output()} ${existsSync(errorLog) ? readFileSync(errorLog, "utf8") : ""}`);
      return (await viaNginx("/").catch(() => null))?.status === 200;
    },
    10_000,
    100,
  );
}, 60_000);

afterAll(async () => {
  await nginx?.stop("SIGTERM", 5000);
  await bunicorn?.stop("SIGKILL", 5000);
  notify?.close();
  if (socketFd !== null) closeFd(socketFd);
  tree?.remove();
});

test("the units pass systemd-analyze verify, and ExecStart's arguments pass --check-config", async () => {
  const analyze = Bun.which("systemd-analyze");
  if (analyze === null) throw new Error("systemd-analyze is not installed (apt-get install -y systemd; .ci/run does it)");
  const verify = await run([analyze, "verify", join(unitDir, "bunicorn.socket"), join(unitDir, "bunicorn.service")], { cwd: unitDir, env: { PATH: "/usr/bin:/bin" } });
  // Unknown keys and bad values are warnings (exit 0): none may be printed.
  expect(verify).toEqual({ code: 0, out: "" });
  const execStart = unitCommand(moved(unitValue(serviceUnit, "Service", "ExecStart")));
  const check = await run([...execStart, "--check-config"], { cwd: moved(unitValue(serviceUnit, "Service", "WorkingDirectory")), env: { PATH: "/usr/bin:/bin" } });
  expect(check).toEqual({ code: 0, out: "" });
  // nginx closes idle upstream connections before bunicorn would (else a request could meet a close).
  const upstreamIdle = Number(/^\s*keepalive_timeout (\d+)s;/m.exec(example("nginx.conf").slice(example("nginx.conf").indexOf("upstream")))![1]);
  expect(Number(flagValue(execStart, "--keep-alive"))).toBeGreaterThan(upstreamIdle);
  // systemd's SIGKILL comes after the graceful stop's own limit.
  expect(Number(flagValue(execStart, "--graceful-timeout"))).toBeLessThan(Number(unitValue(serviceUnit, "Service", "TimeoutStopSec")));
  // A typo in a flag would fail the same check.
  const typo = await run([...execStart, "--graceful-timout", "5", "--check-config"], { cwd: moved(unitValue(serviceUnit, "Service", "WorkingDirectory")), env: { PATH: "/usr/bin:/bin" } });
  expect(typo.code).toBe(2);
});

test("socket activation: the arbiter adopts systemd's socket and is the main pid (READY=1 from it: NotifyAccess=main is enough)", async () => {
  const ready = notify.messages.find((m) => m.text.startsWith("READY=1"))!;
  expect(ready.pid).toBe(bunicorn.proc.pid);
  expect(ready.text).toBe(`READY=1\nSTATUS=Serving with 4 workers\nMAINPID=${bunicorn.proc.pid}`);
  expect(bunicorn.output()).toContain(`Listening at: unix:${socketPath} (${bunicorn.proc.pid})`);
  expect(bunicorn.output()).toContain("Using worker: sync (shared-socket mode)");
  expect(bunicorn.output()).not.toContain("127.0.0.1:8000");
  // The socket unit's owner, group and mode: nginx (www-data) gets in through the group.
  const st = statSync(socketPath);
  expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, resolveGroup("www-data"), 0o660]);
});

test("through nginx: the client's address and scheme reach the app, static files come from root, an unknown Host is closed", async () => {
  const plain = (await (await viaNginx("/a?b=1")).json()) as Seen;
  expect([plain.url, plain.client]).toEqual([`http://${HOST}/a?b=1`, "127.0.0.1"]);
  const tls = (await (await viaNginx("/", { tls: true })).json()) as Seen;
  expect([tls.url, tls.client]).toEqual([`https://${HOST}/`, "127.0.0.1"]);
  // nginx appends the address it saw to the client's own X-Forwarded-For; the app reads the chain.
  const chained = (await (await viaNginx("/", { headers: { "X-Forwarded-For": "203.0.113.7" } })).json()) as Seen;
  expect(chained.client).toBe("203.0.113.7");
  const file = await viaNginx("/static.txt");
  expect([file.status, await file.text()]).toEqual([200, "a static file, served by nginx\n"]);
  // The default server answers nothing (444: the connection is closed).
  expect(await viaNginx("/", { host: "other.example" }).then((r) => r.status, (e: Error) => e.name)).not.toBe(200);
  expect(await viaNginx("/", { host: "other.example" }).then(() => "answered", () => "closed")).toBe("closed");
});

// (nginx 1.22 also forwards these small, spaced events at once with proxy_buffering on: this shows the
// stream passes through /events, not what the directive changes for a stream that outruns its client.)
test("through nginx: /events streams each event as it comes, /ws upgrades", async () => {
  const res = await viaNginx("/events");
  const reader = res.body!.getReader();
  const chunks: Array<{ text: string; at: number }> = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push({ text: new TextDecoder().decode(value), at: performance.now() });
  }
  expect(chunks.map((c) => c.text).join("")).toBe("data: event 1\n\ndata: event 2\n\ndata: event 3\n\n");
  // The first event arrives as it is sent, not with the others: the app spaces them 300 ms apart.
  expect(chunks[0]!.text).toBe("data: event 1\n\n");
  expect(chunks.at(-1)!.at - chunks[0]!.at).toBeGreaterThan(450);

  const ws = new WebSocket(`ws://127.0.0.1:${ports.http}/ws`, { headers: { Host: HOST } } as unknown as string[]);
  const echoed = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no WebSocket echo within 5 s")), 5000);
    ws.onopen = () => ws.send("hello through nginx");
    ws.onmessage = (e) => {
      clearTimeout(timer);
      resolve(String(e.data));
    };
    ws.onerror = () => {
      clearTimeout(timer);
      reject(new Error("WebSocket error"));
    };
  });
  ws.close();
  expect(echoed).toBe("hello through nginx");
});

test("ExecReload (HUP to the main pid) under a load through nginx: none failed; bunicorn ctl on the RuntimeDirectory socket", async () => {
  const failures: string[] = [];
  let ok = 0;
  let done = false;
  const clients = Array.from({ length: 6 }, async () => {
    while (!done) {
      try {
        const res = await viaNginx("/");
        if (res.status === 200) ok++;
        else failures.push(`${res.status} ${await res.text()}`);
        await res.arrayBuffer().catch(() => {});
      } catch (e) {
        failures.push(String(e));
      }
    }
  });
  await sleep(200);
  const from = notify.messages.length;
  const reload = unitValue(serviceUnit, "Service", "ExecReload").replace("$MAINPID", String(bunicorn.proc.pid));
  expect(await run(unitCommand(reload), { cwd: tree.root, env: { PATH: "/usr/bin:/bin" } })).toEqual({ code: 0, out: "" });
  const reloading = await notify.waitFor(/^RELOADING=1/, 10_000, from);
  await notify.waitFor(/^READY=1/, 20_000, notify.messages.indexOf(reloading));
  // The old generation's workers have all exited, while the load went on.
  await bunicorn.waitForLog(/Hang up: Master/);
  await waitFor("the old workers to exit", () => (bunicorn.output().match(/Worker exiting/g) ?? []).length >= 4, 15_000);
  await sleep(300);
  done = true;
  await Promise.all(clients);
  expect(failures).toEqual([]);
  expect(ok).toBeGreaterThan(50);

  const ctlSocket = join(tree.root, "run", unitValue(serviceUnit, "Service", "RuntimeDirectory"), "ctl");
  const app = join(tree.root, "srv/app");
  const ctl = await run([join(app, "node_modules/.bin/bun"), join(app, "node_modules/.bin/bunicorn"), "ctl", "--control-socket", ctlSocket, "--json", "show", "workers"], { cwd: app, env: { PATH: "/usr/bin:/bin" } });
  expect(ctl.code).toBe(0);
  const workers = (JSON.parse(ctl.out) as { workers: Array<{ pid: number; generation: number }> }).workers;
  expect(workers.length).toBe(4);
  expect(new Set(workers.map((w) => w.generation)).size).toBe(1);
}, 60_000);

test("KillSignal (TERM to the main pid): STOPPING=1, exit 0, and systemd's socket file stays", async () => {
  const from = notify.messages.length;
  const code = await bunicorn.stop(unitValue(serviceUnit, "Service", "KillSignal") as NodeJS.Signals, Number(unitValue(serviceUnit, "Service", "TimeoutStopSec")) * 1000);
  expect(code).toBe(0);
  expect(notify.messages.slice(from).map((m) => m.text)).toContain("STOPPING=1\nSTATUS=Stopping");
  expect(existsSync(socketPath)).toBe(true);
  expect(existsSync(join(tree.root, "run", unitValue(serviceUnit, "Service", "RuntimeDirectory"), "ctl"))).toBe(false);
}, 60_000);
