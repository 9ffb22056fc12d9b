/**
 * Behind real nginx (Debian's nginx-light; `.ci/run` installs it when missing), configured as
 * Gunicorn's deploy docs say: `proxy_pass` to a `unix:` bind with several workers,
 * `X-Forwarded-For $proxy_add_x_forwarded_for`, `X-Forwarded-Proto $scheme`, `Host $http_host`,
 * plus a TLS listener and a location that sets `SCRIPT_NAME` (the FAQ). The scheme, the client's
 * address and the mount path reach the app; a short load through nginx has no failed request.
 * nginx runs in the foreground (`daemon off`) with its config, pid, logs and temp paths in a
 * temp dir, on free ports, and is stopped after.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, killAll, ROOT, startBunicorn, waitFor } from "../support/harness.ts";

const APP = `${ROOT}/test/parity/fixtures/forwarded-app.ts`;
const WORKERS = 3;
const dir = mkdtempSync(join(tmpdir(), "bunicorn-nginx-"));
let nginx: Subprocess | null = null;

afterAll(async () => {
  if (nginx !== null) {
    nginx.kill("SIGTERM");
    const t = setTimeout(() => nginx?.kill("SIGKILL"), 5000);
    await nginx.exited;
    clearTimeout(t);
  }
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Seen {
  url: string;
  protocol: string;
  path: string;
  headers: Record<string, string>;
  peer: string | null;
  client: string | null;
  scriptName: string;
  pid: number;
}

function nginxConf(plain: number, tls: number, sock: string): string {
  const proxy = `
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Host $http_host;
      proxy_redirect off;
      proxy_pass http://app_server;`;
  return `
daemon off;
worker_processes 2;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log ${dir}/nginx-access.log;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  upstream app_server { server unix:${sock} fail_timeout=0; }
  server {
    listen 127.0.0.1:${plain};
    listen 127.0.0.1:${tls} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location / {${proxy}
    }
    location /app/ {
      proxy_set_header SCRIPT_NAME /app;${proxy}
    }
  }
}
`;
}

/** GET through nginx: plain or TLS (self-signed), one connection per request. */
async function through(port: number, tls: boolean, path: string, headers: Record<string, string> = {}): Promise<Response> {
  const init = { headers, keepalive: false, signal: AbortSignal.timeout(10_000), ...(tls ? { tls: { rejectUnauthorized: false } } : {}) };
  return fetch(`${tls ? "https" : "http"}://127.0.0.1:${port}${path}`, init as RequestInit);
}

test("nginx in front of a unix: bind with several workers: scheme, client address and mount path reach the app; 500 requests, none failed", async () => {
  const nginxBin = Bun.which("nginx") ?? Bun.which("nginx", { PATH: "/usr/sbin:/usr/local/sbin:/sbin" });
  if (nginxBin === null) throw new Error("nginx is not installed (apt-get install -y nginx-light; .ci/run does it)");
  mkdirSync(join(dir, "tmp"));
  const cert = Bun.spawnSync(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=localhost"],
    { cwd: dir, stdout: "pipe", stderr: "pipe", timeout: 20_000 },
  );
  expect(cert.exitCode).toBe(0);

  const sock = join(dir, "app.sock");
  const access = join(dir, "access.log");
  const b = await startBunicorn(
    [APP, "-w", String(WORKERS), "-b", `unix:${sock}`, "--access-logfile", access, "--access-logformat", "%(h)s|%({x-forwarded-for}i)s|%(s)s|%(U)s"],
    { workers: WORKERS },
  );

  const [plain, tls] = [await freePort(), await freePort()];
  writeFileSync(join(dir, "nginx.conf"), nginxConf(plain, tls, sock));
  nginx = Bun.spawn([nginxBin, "-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "nginx-error.log")], { stdout: "pipe", stderr: "pipe" });
  await waitFor(
    "nginx to answer",
    async () => {
      if (nginx!.exitCode !== null) throw new Error(`nginx exited ${nginx!.exitCode}: ${readFileSync(join(dir, "nginx-error.log"), "utf8")}`);
      return (await through(plain, false, "/info").catch(() => null))?.status === 200;
    },
    10_000,
    100,
  );

  // Plain HTTP: X-Forwarded-Proto http, the client's address in X-Forwarded-For.
  const p = (await (await through(plain, false, "/info?x=1")).json()) as Seen;
  expect([p.url, p.protocol, p.headers["x-forwarded-for"], p.client, p.peer, p.scriptName]).toEqual([`http://127.0.0.1:${plain}/info?x=1`, "http:", "127.0.0.1", "127.0.0.1", null, ""]);

  // TLS terminated by nginx: the app's req.url is https:, with the Host the client asked for.
  const s = (await (await through(tls, true, "/info")).json()) as Seen;
  expect([s.url, s.protocol, s.client]).toEqual([`https://127.0.0.1:${tls}/info`, "https:", "127.0.0.1"]);

  // Mounted under /app (the FAQ's SCRIPT_NAME from a trusted forwarder): the path stays whole.
  const m = (await (await through(tls, true, "/app/users")).json()) as Seen;
  expect([m.scriptName, m.path, m.protocol]).toEqual(["/app", "/app/users", "https:"]);

  // A client's own X-Forwarded-For: nginx appends the address it saw.
  const c = (await (await through(plain, false, "/info", { "X-Forwarded-For": "203.0.113.9" })).json()) as Seen;
  expect(c.headers["x-forwarded-for"]).toBe("203.0.113.9, 127.0.0.1");

  // Load: 500 requests from 10 concurrent clients, every fifth over TLS.
  const failures: string[] = [];
  const pids = new Set<number>();
  let ok = 0;
  await Promise.all(
    Array.from({ length: 10 }, async (_, client) => {
      for (let i = 0; i < 50; i++) {
        const overTls = (client * 50 + i) % 5 === 0;
        try {
          const res = await through(overTls ? tls : plain, overTls, `/info?c=${client}&i=${i}`);
          const seen = (await res.json()) as Seen;
          if (res.status !== 200 || seen.protocol !== (overTls ? "https:" : "http:") || seen.client !== "127.0.0.1") failures.push(`${res.status} ${JSON.stringify(seen)}`);
          else ok++;
          pids.add(seen.pid);
        } catch (e) {
          failures.push(String(e));
        }
      }
    }),
  );
  expect(failures).toEqual([]);
  expect(ok).toBe(500);
  expect(pids.size).toBeGreaterThan(1);

  // The access log's %(h)s is the peer (a unix socket has none), %({x-forwarded-for}i)s the client.
  await waitFor("the access lines", () => readFileSync(access, "utf8").split("\n").filter((l) => l.endsWith("|/info")).length >= 503, 5000);
  const line = readFileSync(access, "utf8").split("\n").find((l) => l.includes("203.0.113.9"));
  expect(line?.split("|")).toEqual(["-", "203.0.113.9, 127.0.0.1", "200", "/info"]);
  expect(await b.stop()).toBe(0);
}, 60_000);
