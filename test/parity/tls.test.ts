// Shared behaviour suite: TLS (the SSL settings and the ssl_context hook) in every mode, and
// http_protocols (HTTP/2, HTTP/3) where Bun can serve it, refused at start where it cannot.
// Certificates are made at load time with openssl (a CA, a server certificate for localhost and
// 127.0.0.1, a client certificate from the CA, and a self-signed "rogue" client certificate).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, waitFor } from "../support/harness.ts";
import { APP, forEachMode, MODES, type Mode, type Served } from "./modes.ts";

const CERTS = makeCerts();
afterAll(() => rmSync(CERTS.dir, { recursive: true, force: true }));

function makeCerts() {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-tls-certs-"));
  const openssl = (...args: string[]) => {
    const r = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe", timeout: 20_000 });
    if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr.toString()}`);
  };
  const key = (name: string) => openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", `${name}.key`);
  const signed = (name: string, cn: string, ext: string | null) => {
    key(name);
    openssl("req", "-new", "-key", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    const extArgs = ext === null ? [] : ["-extfile", ext];
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", ...extArgs);
  };
  key("ca");
  openssl("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=bunicorn test CA");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  signed("server", "localhost", "server.ext");
  signed("client", "client", null);
  key("rogue");
  openssl("req", "-x509", "-new", "-key", "rogue.key", "-out", "rogue.crt", "-days", "2", "-subj", "/CN=rogue");
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  writeFileSync(join(dir, "combined.pem"), read("server.crt") + read("server.key"));
  const path = (f: string) => join(dir, f);
  return {
    dir,
    ca: read("ca.crt"),
    client: { cert: read("client.crt"), key: read("client.key") },
    rogue: { cert: read("rogue.crt"), key: read("rogue.key") },
    path,
  };
}

const SERVER_TLS = ["--certfile", CERTS.path("server.crt"), "--keyfile", CERTS.path("server.key")];
const REUSE_PORT_MODES = MODES.filter((m) => m.listen === "reuse-port");
const SHARED_SOCKET_MODES = MODES.filter((m) => m.listen === "shared-socket");

/** `https://…PATH` of the served bunicorn (over its unix socket where the mode has one). */
function httpsUrl(s: Served, path: string): string {
  return (s.socketPath ? "https://localhost" : `https://127.0.0.1:${s.port}`) + path;
}

/** fetch over TLS, trusting the test CA; `tls` adds client options (a certificate). No connection reuse. */
function httpsFetch(s: Served, path: string, tls: Record<string, unknown> = {}, init: RequestInit = {}): Promise<Response> {
  return fetch(httpsUrl(s, path), {
    ...init,
    keepalive: false,
    tls: { ca: CERTS.ca, ...tls },
    signal: AbortSignal.timeout(10_000),
    ...(s.socketPath ? { unix: s.socketPath } : {}),
  } as RequestInit);
}

/** Runs a command (bounded); its exit code and output. */
async function run(cmd: string[], timeoutMs = 15_000): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

/** curl against the served bunicorn; `-w` gets the HTTP version after the body. */
function curl(s: Served, path: string, args: string[], scheme: "http" | "https" = "https"): Promise<{ code: number; out: string; err: string }> {
  const url = scheme === "https" ? httpsUrl(s, path) : (s.socketPath ? "http://localhost" : `http://127.0.0.1:${s.port}`) + path;
  return run(["curl", "-sS", "--max-time", "10", ...(s.socketPath ? ["--unix-socket", s.socketPath] : []), "-w", " proto=%{http_version}", ...args, url]);
}

/** An `openssl s_client` handshake limited to TLS 1.1; true when it succeeds. */
async function tls11Handshake(s: Served): Promise<boolean> {
  const target = s.socketPath ? ["-unix", s.socketPath] : ["-connect", `127.0.0.1:${s.port}`];
  const r = await run(["openssl", "s_client", ...target, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", "-CAfile", CERTS.path("ca.crt"), "-brief"]);
  return r.code === 0 && r.err.includes("Protocol version: TLSv1.1");
}

/** The "Listening at" line this mode's bind must log with TLS (unix sockets keep Gunicorn's `unix:PATH`). */
function listeningAt(s: Served): string {
  return s.socketPath ? `Listening at: unix:${s.socketPath} ` : `Listening at: https://127.0.0.1:${s.port} `;
}

/** Raw bytes over TLS (bounded waits), for what fetch hides. */
async function tlsConnect(s: Served): Promise<{ write(d: string): void; until(pred: (t: string) => boolean): Promise<string>; end(): void }> {
  let text = "";
  let closed = false;
  let handshake: (ok: boolean) => void = () => {};
  const shaken = new Promise<boolean>((resolve) => (handshake = resolve));
  const socket = await Bun.connect({
    ...(s.socketPath ? { unix: s.socketPath } : { hostname: "127.0.0.1", port: s.port }),
    tls: { ca: CERTS.ca, serverName: "localhost" },
    socket: {
      handshake(_s, ok) {
        handshake(ok);
      },
      data(_s, d) {
        text += Buffer.from(d).toString("latin1");
      },
      close() {
        closed = true;
        handshake(false);
      },
    },
  } as Parameters<typeof Bun.connect>[0]);
  // Bytes written before the handshake would be lost.
  const ok = await Promise.race([shaken, Bun.sleep(10_000).then(() => false)]);
  if (!ok) throw new Error("TLS handshake failed");
  return {
    write: (d) => void socket.write(d),
    until: (pred) => waitFor("TLS response", () => (pred(text) ? text : closed ? Promise.reject(new Error(`closed: ${JSON.stringify(text)}`)) : null), 10_000, 10),
    end: () => socket.end(),
  };
}

forEachMode("TLS", { args: [...SERVER_TLS, "--access-logfile", "LOG"] }, (srv) => {
  test("HTTPS works, req.url starts with https://, and 'Listening at' says https", async () => {
    const s = srv();
    const res = await httpsFetch(s, "/url?x=1");
    expect(res.status).toBe(200);
    const { url } = (await res.json()) as { url: string };
    expect(url).toBe(s.socketPath ? "https://localhost/url?x=1" : `https://127.0.0.1:${s.port}/url?x=1`);
    expect(s.b.output()).toContain(listeningAt(s));
    expect(s.b.output()).not.toContain("Listening at: http://");
  });

  test("text, JSON, a file, a stream and a 200 KB POST body arrive whole over TLS", async () => {
    const s = srv();
    expect(await (await httpsFetch(s, "/")).text()).toBe("hello");
    expect(await (await httpsFetch(s, "/json")).json()).toEqual({ hello: "world", n: 1 });
    const file = await httpsFetch(s, "/file");
    expect(Buffer.from(await file.arrayBuffer()).equals(readFileSync(`${ROOT}/test/parity/fixtures/static.txt`))).toBe(true);
    expect(await (await httpsFetch(s, "/stream")).text()).toBe("one two three");
    const payload = new Uint8Array(200_000).map((_, i) => i % 251);
    const echo = await httpsFetch(s, "/echo", {}, { method: "POST", body: payload });
    expect(Buffer.from(await echo.arrayBuffer()).equals(Buffer.from(payload))).toBe(true);
  });

  test("keep-alive over one TLS connection; a malformed request is a plain 400 and the worker keeps serving", async () => {
    const s = srv();
    const c = await tlsConnect(s);
    c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until((t) => t.includes("hello"));
    c.write("GET /json HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until((t) => t.includes('"world"'));
    c.end();
    const bad = await tlsConnect(s);
    bad.write("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
    const t = await bad.until((t) => t.includes("\r\n\r\n"));
    expect(t.startsWith("HTTP/1.1 400")).toBe(true);
    bad.end();
    expect(await (await httpsFetch(s, "/")).text()).toBe("hello");
  });

  test("a throwing handler is a plain 500 with no stack trace", async () => {
    const res = await httpsFetch(srv(), "/error");
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("boom");
  });

  test("plain HTTP on the TLS port gets no HTTP answer", async () => {
    const r = await curl(srv(), "/", [], "http");
    expect(r.out).not.toContain("hello");
    expect(r.code).not.toBe(0);
  });

  test("TLS 1.1 is refused by default (TLS 1.2 and 1.3 only)", async () => {
    expect(await tls11Handshake(srv())).toBe(false);
  });

  test("the access log has the HTTPS request", async () => {
    const s = srv();
    await httpsFetch(s, "/json?logged=1");
    const lines = await waitFor("the access line", () => s.accessLines().find((l) => l.includes('"GET /json?logged=1 HTTP/1.1" 200')));
    expect(lines).toBeTruthy();
  });
});

forEachMode(
  "TLS: certfile holding the key too, client certificates required (cert_reqs 2)",
  { args: ["--certfile", CERTS.path("combined.pem"), "--ca-certs", CERTS.path("ca.crt"), "--cert-reqs", "2"] },
  (srv) => {
    test("a client certificate signed by ca_certs is accepted (the key came from certfile)", async () => {
      const res = await httpsFetch(srv(), "/url", CERTS.client);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { url: string }).url).toStartWith("https://");
    });

    test("a client without a certificate is refused", async () => {
      await expect(httpsFetch(srv(), "/")).rejects.toThrow();
      const r = await curl(srv(), "/", ["--cacert", CERTS.path("ca.crt")]);
      expect(r.code).not.toBe(0);
      expect(r.out).not.toContain("hello");
    });

    test("a client certificate not signed by ca_certs is refused", async () => {
      const r = await curl(srv(), "/", ["--cacert", CERTS.path("ca.crt"), "--cert", CERTS.path("rogue.crt"), "--key", CERTS.path("rogue.key")]);
      expect(r.code).not.toBe(0);
      expect(r.out).not.toContain("hello");
      // The worker is unharmed.
      expect(await (await httpsFetch(srv(), "/", CERTS.client)).text()).toBe("hello");
    });
  },
);

forEachMode("TLS: optional client certificates (cert_reqs 1), ssl_version TLSv1_1", { args: [...SERVER_TLS, "--ca-certs", CERTS.path("ca.crt"), "--cert-reqs", "1", "--ssl-version", "TLSv1_1"] }, (srv) => {
  test("clients with and without a certificate are served", async () => {
    expect(await (await httpsFetch(srv(), "/")).text()).toBe("hello");
    expect(await (await httpsFetch(srv(), "/", CERTS.client)).text()).toBe("hello");
  });

  test("ssl_version TLSv1_1 is the minimum: a TLS 1.1 client is served", async () => {
    expect(await tls11Handshake(srv())).toBe(true);
  });
});

forEachMode(
  "TLS: the ssl_context hook",
  { args: [...SERVER_TLS, "-c", `${ROOT}/test/parity/fixtures/ssl-context.config.ts`], env: { SSL_LOG: "DIR/ssl.log" } },
  (srv) => {
    test("runs once per worker process with the settings and the default options, and its options are served (TLS 1.3 only)", async () => {
      const s = srv();
      expect(await (await httpsFetch(s, "/")).text()).toBe("hello");
      const calls = readFileSync(join(s.dir, "ssl.log"), "utf8").trim().split("\n");
      expect(calls).toEqual([JSON.stringify({ certfile: CERTS.path("server.crt"), hasCert: true, hasKey: true })]);
      const tls12 = await curl(s, "/", ["--cacert", CERTS.path("ca.crt"), "--tls-max", "1.2"]);
      expect(tls12.code).not.toBe(0);
      const tls13 = await curl(s, "/", ["--cacert", CERTS.path("ca.crt")]);
      expect(tls13.out).toBe("hello proto=1.1");
    });
  },
);

forEachMode("TLS: WebSocket (wss)", { app: `${ROOT}/test/parity/fixtures/websocket-app.ts`, args: SERVER_TLS }, (srv) => {
  test("a WebSocket over TLS opens and echoes", async () => {
    const s = srv();
    const url = s.socketPath ? `wss+unix://${s.socketPath}:/ws?name=tls` : `wss://127.0.0.1:${s.port}/ws?name=tls`;
    const ws = new WebSocket(url, { tls: { ca: CERTS.ca, serverName: "localhost" } } as unknown as string[]);
    const messages: string[] = [];
    ws.onmessage = (e) => {
      messages.push(String(e.data));
      if (messages.length === 1) ws.send("over tls");
    };
    try {
      await waitFor("two messages", () => messages.length >= 2, 10_000, 10);
    } finally {
      ws.close();
    }
    expect(JSON.parse(messages[0]!)).toMatchObject({ open: true, data: { path: "/ws", name: "tls" } });
    expect(messages[1]).toBe("over tls");
  });
});

forEachMode(
  "http_protocols h2,h1,h3 with TLS",
  { args: [...SERVER_TLS, "--http-protocols", "h2,h1,h3"] },
  (srv) => {
    test("HTTP/2 by ALPN, HTTP/1.1 for clients that do not offer h2, both with https URLs", async () => {
      const s = srv();
      const h2 = await curl(s, "/url", ["--cacert", CERTS.path("ca.crt"), "--http2"]);
      expect(h2.out).toBe(`${JSON.stringify({ url: httpsUrl(s, "/url"), method: "GET" })} proto=2`);
      const h1 = await curl(s, "/url", ["--cacert", CERTS.path("ca.crt"), "--http1.1"]);
      expect(h1.out).toEndWith(" proto=1.1");
    });

    test("HTTP/3 is advertised (Alt-Svc) and its UDP port is bound", async () => {
      const s = srv();
      const res = await httpsFetch(s, "/");
      expect(res.headers.get("alt-svc")).toContain(`h3=":${s.port}"`);
      let bound: unknown = null;
      try {
        (await Bun.udpSocket({ hostname: "127.0.0.1", port: s.port })).close();
      } catch (e) {
        bound = (e as { code?: string }).code;
      }
      expect(bound).toBe("EADDRINUSE");
    });
  },
  REUSE_PORT_MODES,
);

forEachMode(
  "http_protocols h2 without TLS (h2c by prior knowledge, no HTTP/1.1)",
  { args: ["--http-protocols", "h2"] },
  (srv) => {
    test("prior knowledge gets HTTP/2; an HTTP/1.1 client is refused", async () => {
      const s = srv();
      const h2c = await curl(s, "/url", ["--http2-prior-knowledge"], "http");
      expect(h2c.out).toBe(`${JSON.stringify({ url: `http://127.0.0.1:${s.port}/url`, method: "GET" })} proto=2`);
      const h1 = await curl(s, "/url", ["--http1.1"], "http");
      expect(h1.out).not.toContain('"url"');
    });
  },
  REUSE_PORT_MODES,
);

/** The command line `serve()` in modes.ts would build for `mode` (a free port is not needed: bunicorn must refuse before binding). */
function cliArgs(mode: Mode, dir: string, extra: string[]): string[] {
  const args = [APP, "-w", "1", "-b", mode.unix ? `unix:${join(dir, "s.sock")}` : "127.0.0.1:1"];
  if (mode.listen === "shared-socket" && !mode.unix) args.push("--no-reuse-port");
  if (mode.gthread) args.push("-k", "gthread", "--threads", "2");
  return [...args, ...extra];
}

/** Starts bunicorn expecting it to refuse: exit 1, one `Error:` line on stderr; returns that line. */
async function refused(mode: Mode, extra: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "bunicorn-tls-refused-"));
  try {
    const r = await run([process.execPath, `${ROOT}/cli/bunicorn.ts`, ...cliArgs(mode, dir, extra)]);
    const lines = r.err.split("\n").filter(Boolean);
    expect({ code: r.code, lines }).toEqual({ code: 1, lines: [expect.stringMatching(/^Error: /)] });
    return lines[0]!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("TLS and http_protocols refused at start", () => {
  for (const mode of MODES) {
    test(`[${mode.name}] keyfile without certfile; certfile without a key; SSLv3; a key that does not match; bad ciphers`, async () => {
      expect(await refused(mode, ["--keyfile", CERTS.path("server.key")])).toStartWith("Error: keyfile:");
      expect(await refused(mode, ["--certfile", CERTS.path("server.crt")])).toStartWith("Error: keyfile: not set");
      expect(await refused(mode, [...SERVER_TLS, "--ssl-version", "SSLv3"])).toStartWith("Error: ssl_version:");
      expect(await refused(mode, ["--certfile", CERTS.path("server.crt"), "--keyfile", CERTS.path("client.key")])).toStartWith("Error: certfile/keyfile:");
      expect(await refused(mode, [...SERVER_TLS, "--ciphers", "NO-SUCH-CIPHER"])).toStartWith("Error: ciphers:");
    });

    test(`[${mode.name}] http_protocols: a name bunicorn does not know, and h3 without TLS`, async () => {
      expect(await refused(mode, ["--http-protocols", "h1,h4"])).toContain("http_protocols");
      expect(await refused(mode, ["--http-protocols", "h3,h1"])).toStartWith("Error: http_protocols: h3 (HTTP/3 over QUIC) needs TLS");
    });
  }
  for (const mode of SHARED_SOCKET_MODES) {
    test(`[${mode.name}] http_protocols h2 or h3 cannot be served by the HTTP/1.1 engine`, async () => {
      const h2 = await refused(mode, [...SERVER_TLS, "--http-protocols", "h2,h1"]);
      expect(h2).toStartWith("Error: http_protocols: h2 cannot be served in shared-socket mode");
      expect(await refused(mode, ["--http-protocols", "h2"])).toStartWith("Error: http_protocols: h2 cannot be served in shared-socket mode");
      expect(await refused(mode, [...SERVER_TLS, "--http-protocols", "h1,h3"])).toStartWith("Error: http_protocols: h3 cannot be served in shared-socket mode");
    });
  }
});
