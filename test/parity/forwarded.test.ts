// Shared behaviour suite: behind a trusted proxy (forwarded_allow_ips, secure_scheme_headers,
// forwarder_headers, header_map, the clientAddress/scriptName helpers), the same in every mode.
// TCP clients come from 127.0.0.1, trusted by default; `--forwarded-allow-ips 10.0.0.1` makes
// them untrusted, while a unix-socket peer is always trusted (as in Gunicorn).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAll } from "../support/http-client.ts";
import { forEachMode, type Served } from "./modes.ts";
import { ROOT, waitFor } from "../support/harness.ts";

const APP = `${ROOT}/test/parity/fixtures/forwarded-app.ts`;

interface Seen {
  url: string;
  protocol: string;
  path: string;
  headers: Record<string, string>;
  peer: string | null;
  client: string | null;
  scriptName: string;
  body: string | null;
}

async function info(s: Served, headers: Record<string, string> = {}, path = "/info"): Promise<Seen> {
  const res = await s.fetch(path, { headers });
  expect(res.status).toBe(200);
  return (await res.json()) as Seen;
}

/** Sends a raw request (header names exactly as written) and returns the parsed responses once the server closes or `n` arrived. */
async function raw(s: Served, request: string, n = 1): Promise<ReturnType<typeof parseAll>> {
  const c = await s.connect();
  c.write(request);
  await c.until((t) => parseAll(t, false).length >= n || c.closed, 5000).catch(() => {});
  const out = parseAll(c.text, c.closed);
  c.end();
  return out;
}

/** A request with a body framed by `Content-Length: 7`, with `_` look-alikes of the framing headers, then a second request. */
const LOOKALIKES =
  "POST /framing HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked\r\nContent-Length: 7\r\nContent_Length: -1E23\r\n\r\ntricked" +
  "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

const isBadRequest = (r: { status: number; body: string }) => r.status === 400 && !r.body.includes(" at ") && !r.body.includes(".ts");

forEachMode("trusted proxy (defaults)", { app: APP, args: ["--access-logfile", "LOG"] }, (srv) => {
  test("no scheme header: req.url is http:", async () => {
    expect((await info(srv())).protocol).toBe("http:");
  });

  test("a trusted peer's X-Forwarded-Proto: https, X-Forwarded-Ssl: on or X-Forwarded-Protocol: ssl makes req.url https:", async () => {
    const s = srv();
    const cases: Record<string, string>[] = [{ "X-Forwarded-Proto": "https" }, { "X-Forwarded-Ssl": "on" }, { "X-Forwarded-Protocol": "ssl" }, { "X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on" }];
    for (const h of cases) {
      const seen = await info(s, h, "/info?q=1");
      expect({ h, url: seen.url.replace(/\/\/[^/]+/, "//HOST") }).toEqual({ h, url: "https://HOST/info?q=1" });
    }
  });

  test("a value other than the configured one (case included) means http:", async () => {
    const s = srv();
    const cases: Record<string, string>[] = [{ "X-Forwarded-Proto": "http" }, { "X-Forwarded-Proto": "HTTPS" }, { "X-Forwarded-Ssl": "off" }];
    for (const h of cases) {
      expect({ h, protocol: (await info(s, h)).protocol }).toEqual({ h, protocol: "http:" });
    }
  });

  test("a repeated scheme header is judged by its combined value (Bun's Headers join them): not https:", async () => {
    const [r] = await raw(srv(), "GET /info HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n");
    expect((JSON.parse(r!.body) as Seen).protocol).toBe("http:");
  });

  test("contradicting scheme headers from a trusted peer are a plain 400, logged, and the worker keeps serving", async () => {
    const s = srv();
    const [r] = await raw(s, "GET /contradiction HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n\r\n");
    expect(r !== undefined && isBadRequest(r)).toBe(true);
    expect(r!.headers["connection"]).toBe("close");
    await waitFor("the 400's access line", () => s.accessLines().some((l) => l.includes('"GET /contradiction HTTP/1.1" 400')), 5000);
    expect((await info(s)).protocol).toBe("http:");
  });

  test("header_map drop: a name with _ never reaches the app; its dash twin does", async () => {
    const [r] = await raw(srv(), "GET /info HTTP/1.1\r\nHost: x\r\nX-Auth_User: mallory\r\nX-Auth-User: alice\r\nConnection: close\r\n\r\n");
    expect(r?.status).toBe(200);
    const seen = JSON.parse(r!.body) as Seen;
    expect(seen.headers["x-auth-user"]).toBe("alice");
    expect(Object.keys(seen.headers).filter((k) => k.includes("_"))).toEqual([]);
  });

  test("Content_Length and Transfer_Encoding never frame a request: the body is Content-Length's, the look-alikes are dropped", async () => {
    const rs = await raw(srv(), LOOKALIKES, 2);
    expect(rs.map((r) => r.status)).toEqual([200, 200]);
    const first = JSON.parse(rs[0]!.body) as Seen;
    expect(first.body).toBe("tricked");
    expect(Object.keys(first.headers).filter((k) => k.includes("_"))).toEqual([]);
    expect((JSON.parse(rs[1]!.body) as Seen).path).toBe("/after");
  });

  test("a trusted forwarder's SCRIPT_NAME and PATH_INFO pass (forwarder_headers); scriptName() is the mount path", async () => {
    const [r] = await raw(srv(), "GET /app/users HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: /app\r\nPATH_INFO: /users\r\nConnection: close\r\n\r\n");
    const seen = JSON.parse(r!.body) as Seen;
    expect([seen.headers["script_name"], seen.headers["path_info"], seen.scriptName, seen.path]).toEqual(["/app", "/users", "/app", "/app/users"]);
    expect((await info(srv())).scriptName).toBe("");
  });

  test("clientAddress(): the rightmost X-Forwarded-For entry that is not a trusted proxy; requestIP stays the peer", async (): Promise<void> => {
    const s = srv();
    const peer = s.mode.unix ? null : "127.0.0.1";
    const plain = await info(s);
    expect([plain.peer, plain.client]).toEqual([peer, peer]);
    const one = await info(s, { "X-Forwarded-For": "203.0.113.7" });
    expect([one.peer, one.client]).toEqual([peer, "203.0.113.7"]);
    // A client's own entry (left) is not believed over what the proxy appended (right)...
    expect((await info(s, { "X-Forwarded-For": "198.51.100.66, 203.0.113.7" })).client).toBe("203.0.113.7");
    // ...and trusted proxies in the chain (127.0.0.1 is in the default forwarded_allow_ips) are skipped.
    expect((await info(s, { "X-Forwarded-For": "203.0.113.7, 127.0.0.1" })).client).toBe("203.0.113.7");
  });
});

forEachMode("untrusted peer (--forwarded-allow-ips 10.0.0.1)", { app: APP, args: ["--forwarded-allow-ips", "10.0.0.1"] }, (srv, mode) => {
  // A unix-socket peer is always trusted, whatever forwarded_allow_ips says.
  const trusted = mode.unix;

  test(trusted ? "a unix peer is trusted: https:" : "X-Forwarded-Proto from an untrusted peer is ignored: http:", async () => {
    expect((await info(srv(), { "X-Forwarded-Proto": "https" })).protocol).toBe(trusted ? "https:" : "http:");
  });

  test(trusted ? "contradicting headers from a unix peer: 400" : "contradicting headers from an untrusted peer are ignored (200)", async () => {
    const [r] = await raw(srv(), "GET /info HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\nConnection: close\r\n\r\n");
    expect(r?.status).toBe(trusted ? 400 : 200);
  });

  test(trusted ? "a unix peer's SCRIPT_NAME passes" : "an untrusted peer's SCRIPT_NAME is dropped and scriptName() ignores it", async () => {
    const [r] = await raw(srv(), "GET /app/x HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: /app\r\nConnection: close\r\n\r\n");
    const seen = JSON.parse(r!.body) as Seen;
    expect([seen.headers["script_name"] ?? null, seen.scriptName]).toEqual(trusted ? ["/app", "/app"] : [null, ""]);
  });

  test(trusted ? "clientAddress() believes a unix peer's X-Forwarded-For" : "clientAddress() ignores an untrusted peer's X-Forwarded-For", async () => {
    const seen = await info(srv(), { "X-Forwarded-For": "203.0.113.7" });
    expect(seen.client).toBe(trusted ? "203.0.113.7" : "127.0.0.1");
  });
});

forEachMode("header_map refuse", { app: APP, args: ["--header-map", "refuse"] }, (srv) => {
  test("a name with _ is a plain 400, the look-alike framing headers too", async () => {
    const s = srv();
    const [r] = await raw(s, "GET /info HTTP/1.1\r\nHost: x\r\nX-Auth_User: mallory\r\n\r\n");
    expect(r !== undefined && isBadRequest(r)).toBe(true);
    const rs = await raw(s, LOOKALIKES, 2);
    expect(rs.map((x) => x.status)).toEqual([400]);
    expect((await info(s)).protocol).toBe("http:");
  });

  test("a trusted forwarder's SCRIPT_NAME still passes", async () => {
    const [r] = await raw(srv(), "GET /app/x HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: /app\r\nConnection: close\r\n\r\n");
    expect(r?.status).toBe(200);
    expect((JSON.parse(r!.body) as Seen).scriptName).toBe("/app");
  });
});

forEachMode(
  "header_map dangerous, custom secure_scheme_headers",
  { app: APP, args: ["--header-map", "dangerous"], env: { BUNICORN_SECURE_SCHEME_HEADERS: '{"X-Scheme": "https"}' } },
  (srv) => {
    test("a name with _ reaches the app; the look-alikes still never frame the request", async () => {
      const s = srv();
      const [r] = await raw(s, "GET /info HTTP/1.1\r\nHost: x\r\nX-Auth_User: mallory\r\nConnection: close\r\n\r\n");
      expect((JSON.parse(r!.body) as Seen).headers["x-auth_user"]).toBe("mallory");
      const rs = await raw(s, LOOKALIKES, 2);
      expect(rs.map((x) => x.status)).toEqual([200, 200]);
      const first = JSON.parse(rs[0]!.body) as Seen;
      expect([first.body, first.headers["content_length"], first.headers["transfer_encoding"]]).toEqual(["tricked", "-1E23", "chunked"]);
    });

    test("only the configured scheme header counts", async () => {
      const s = srv();
      expect((await info(s, { "X-Scheme": "https" })).protocol).toBe("https:");
      expect((await info(s, { "X-Forwarded-Proto": "https" })).protocol).toBe("http:");
    });
  },
);

// Over TLS the listener's scheme is https; a trusted proxy's `X-Forwarded-Proto: http` makes it http
// (Gunicorn starts from the listener's scheme and lets the headers decide).
const CERT_DIR = mkdtempSync(join(tmpdir(), "bunicorn-forwarded-tls-"));
afterAll(() => rmSync(CERT_DIR, { recursive: true, force: true }));
{
  const r = Bun.spawnSync(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    { cwd: CERT_DIR, stdout: "pipe", stderr: "pipe", timeout: 20_000 },
  );
  if (r.exitCode !== 0) throw new Error(`openssl: ${r.stderr.toString()}`);
}

forEachMode("trusted proxy over TLS", { app: APP, args: ["--certfile", join(CERT_DIR, "c.pem"), "--keyfile", join(CERT_DIR, "k.pem")] }, (srv) => {
  const get = async (s: Served, headers: Record<string, string>): Promise<Seen> => {
    const url = (s.socketPath ? "https://localhost" : `https://127.0.0.1:${s.port}`) + "/info";
    const init = { headers, keepalive: false, signal: AbortSignal.timeout(10_000), tls: { rejectUnauthorized: false }, ...(s.socketPath ? { unix: s.socketPath } : {}) };
    const res = await fetch(url, init as RequestInit);
    expect(res.status).toBe(200);
    return (await res.json()) as Seen;
  };

  test("https: by itself; http: when a trusted proxy says X-Forwarded-Proto: http", async () => {
    const s = srv();
    expect((await get(s, {})).protocol).toBe("https:");
    expect((await get(s, { "X-Forwarded-Proto": "https" })).protocol).toBe("https:");
    expect((await get(s, { "X-Forwarded-Proto": "http" })).protocol).toBe("http:");
  });
});
