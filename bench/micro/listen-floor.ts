/**
 * The floor under the shared-socket engine on Bun 1.4.4: what a server on `Bun.listen` costs per
 * request when its JavaScript does (almost) nothing, next to `Bun.serve` with the same answer.
 * Each server is one process; the loads are wrk (`-t1 -c32`, 3 s) keep-alive, `Connection: close`
 * and POST 64 KiB echoed (bench/wrk/*.lua, as bench/run); the figure is the server process's CPU time (user + system from
 * /proc/PID/stat) per request, so other programs on the machine move it little. Rounds alternate.
 *
 *   npx bun bench/micro/listen-floor.ts [rounds]
 *
 * Servers (each answers `GET /` with `Hello, World!` and echoes `POST /echo`):
 * - `serve`: `Bun.serve({reusePort: true, development: false})` with a fetch returning a Response;
 * - `listen-bytes`: `Bun.listen`, each `data` answered with one `socket.write` of a prebuilt
 *   response (no parsing, no Request, no Response); a POST's body is collected from the reads and
 *   written back after a head in one `socket.write`: the least any JavaScript engine on
 *   `Bun.listen` can do;
 * - `listen-request`: `listen-bytes` plus a `Request` built for each request (url and Host);
 * - `listen-response`: `listen-bytes` plus a `Response` made and read back for each (status,
 *   headers, body) and written with one `socket.write`, but no `Request`;
 * - `listen-objects`: the same plus what any engine must do to call a fetch handler: find the
 *   head's end, build a `Request` (url + the Host field), call the handler, read the `Response`'s
 *   status, headers and body, and write head and body in one `socket.write`.
 */
const PORT0 = 28950;

if (process.argv[2] === "--server") {
  const kind = process.argv[3]!;
  const port = Number(process.argv[4]);
  const hello = "Hello, World!";
  if (kind === "serve") {
    Bun.serve({
      hostname: "127.0.0.1",
      port,
      reusePort: true,
      development: false,
      fetch: (req) => (req.method === "POST" ? req.arrayBuffer().then((b) => new Response(b)) : new Response(hello)),
    });
  } else {
    const fixed = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: text/plain;charset=utf-8\r\nDate: ${new Date().toUTCString()}\r\nContent-Length: 13\r\n\r\n${hello}`);
    const fixedClose = Buffer.from(fixed.toString("latin1").replace("\r\nContent-Length", "\r\nConnection: close\r\nContent-Length"), "latin1");
    const stage = Buffer.allocUnsafeSlow(256 * 1024);
    const fetch = (_req: Request) => new Response(hello);
    // POST /echo (bench/wrk/post.lua, keep-alive): the head and its Content-Length body are
    // collected from the reads (a 64 KiB body takes two or more), then echoed.
    const CRLF2 = Buffer.from("\r\n\r\n");
    const echoHead = (n: number) => `HTTP/1.1 200 OK\r\nDate: ${new Date().toUTCString()}\r\nContent-Length: ${n}\r\n\r\n`;
    type Post = { parts: Buffer[]; have: number; need: number; head: string };
    Bun.listen<Post | null>({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(s, chunk) {
          let post = s.data;
          if (post === null && chunk[0] === 80 /* P */) {
            const he = chunk.indexOf(CRLF2);
            const head = chunk.toString("latin1", 0, he);
            const cl = Number(/content-length: *(\d+)/i.exec(head)![1]);
            post = s.data = { parts: [], have: 0, need: cl, head };
            chunk = chunk.subarray(he + 4);
          }
          if (post !== null) {
            post.parts.push(chunk);
            post.have += chunk.length;
            if (post.have < post.need) return;
            s.data = null;
            const body = post.parts.length === 1 ? post.parts[0]! : Buffer.concat(post.parts);
            if (kind === "listen-bytes") {
              const h = echoHead(body.length);
              const n = stage.write(h, 0, h.length, "latin1");
              stage.set(body, n);
              s.write(stage, 0, n + body.length);
              return;
            }
            // What a fetch-style engine does: a Request with the body, the app (echo), the Response read back.
            const line = post.head.substring(0, post.head.indexOf("\r"));
            const req = new Request("http://127.0.0.1:" + port + line.substring(5, line.indexOf(" ", 5)), { method: "POST", body });
            req.headers.append("host", "127.0.0.1");
            req.arrayBuffer().then((ab) => {
              const res = new Response(ab);
              let h = "HTTP/1.1 " + res.status + " OK\r\n";
              for (const [k, v] of res.headers) h += k + ": " + v + "\r\n";
              const blob = Bun.peek(res.blob()) as Blob;
              const out = Bun.peek(blob.bytes()) as Uint8Array;
              h += "Content-Length: " + out.length + "\r\n\r\n";
              const n = stage.write(h, 0, h.length, "latin1");
              stage.set(out, n);
              s.write(stage, 0, n + out.length);
            });
            return;
          }
          // wrk sends one request per read (bench/wrk/close.lua adds `Connection: close`).
          const close = chunk.indexOf("close") > 0;
          if (kind === "listen-bytes") {
            s.write(close ? fixedClose : fixed);
          } else if (kind === "listen-request") {
            const line = chunk.toString("latin1", 0, chunk.indexOf(13));
            const req = new Request("http://127.0.0.1:" + port + line.substring(4, line.indexOf(" ", 4)));
            req.headers.append("host", "127.0.0.1");
            s.write(close ? fixedClose : fixed);
          } else if (kind === "listen-response") {
            const res = new Response(hello);
            let h = "HTTP/1.1 " + res.status + " OK\r\n";
            for (const [k, v] of res.headers) h += k + ": " + v + "\r\n";
            const blob = Bun.peek(res.blob()) as Blob;
            const body = Bun.peek(blob.bytes()) as Uint8Array;
            h += "content-type: " + blob.type + "\r\nContent-Length: " + body.length + (close ? "\r\nConnection: close" : "") + "\r\n\r\n";
            const n = stage.write(h, 0, h.length, "latin1");
            stage.set(body, n);
            s.write(stage, 0, n + body.length);
          } else {
            const end = chunk.indexOf("\r\n\r\n");
            const line = chunk.toString("latin1", 0, chunk.indexOf(13));
            const sp = line.indexOf(" ", 4);
            const req = new Request("http://127.0.0.1:" + port + line.substring(4, sp));
            req.headers.append("host", "127.0.0.1");
            void end;
            const res = fetch(req);
            let h = "HTTP/1.1 " + res.status + " OK\r\n";
            for (const [k, v] of res.headers) h += k + ": " + v + "\r\n";
            const blob = Bun.peek(res.blob()) as Blob;
            const body = Bun.peek(blob.bytes()) as Uint8Array;
            h += "content-type: " + blob.type + "\r\nContent-Length: " + body.length + (close ? "\r\nConnection: close" : "") + "\r\n\r\n";
            const n = stage.write(h, 0, h.length, "latin1");
            stage.set(body, n);
            s.write(stage, 0, n + body.length);
          }
          if (close) s.end();
        },
        open(s) {
          s.data = null;
        },
      },
    });
  }
} else {
  const rounds = Number(process.argv[2] ?? 3);
  const loads = ["keepalive", "close", "post"];
  const kinds = ["serve", "listen-bytes", "listen-request", "listen-response", "listen-objects"];
  const here = import.meta.path;
  const wrkDir = new URL("../wrk/", import.meta.url).pathname;
  const cpu = (pid: number) => {
    const f = require("node:fs").readFileSync(`/proc/${pid}/stat`, "latin1") as string;
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) * 10_000; // clock ticks (10 ms) -> µs
  };
  const results: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [i, kind] of kinds.entries()) {
      const port = PORT0 + i;
      const p = Bun.spawn([process.execPath, here, "--server", kind, String(port)], { stdio: ["ignore", "inherit", "inherit"] });
      for (let t = 0; t < 100; t++) {
        try {
          await fetch(`http://127.0.0.1:${port}/`);
          break;
        } catch {
          await Bun.sleep(50);
        }
      }
      for (const load of loads) {
        if (load === "post" && (kind === "listen-request" || kind === "listen-response")) continue;
        const args = ["wrk", "-t1", "-c32", "-d3s", "-s", wrkDir + load + ".lua", `http://127.0.0.1:${port}/${load === "post" ? "echo" : ""}`];
        Bun.spawnSync(["wrk", "-t1", "-c32", "-d1s", `http://127.0.0.1:${port}/`]);
        const c0 = cpu(p.pid);
        const out = Bun.spawnSync(args).stdout.toString();
        const c1 = cpu(p.pid);
        const m = /"requests":(\d+)/.exec(out);
        const n = m === null ? 0 : Number(m[1]);
        const us = (c1 - c0) / n;
        (results[`${kind} ${load}`] ??= []).push(us);
        console.log(`round ${r + 1} ${kind.padEnd(15)} ${load.padEnd(10)} ${us.toFixed(2)} µs/request (${n} requests)`);
      }
      p.kill();
      await p.exited;
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  console.log("\nmedian µs of server CPU per request, and raw Bun.serve's / this:");
  for (const load of loads) {
    const base = med(results[`serve ${load}`]!);
    for (const kind of kinds) {
      const r = results[`${kind} ${load}`];
      if (r === undefined) continue;
      const v = med(r);
      console.log(`${load.padEnd(10)} ${kind.padEnd(15)} ${v.toFixed(2)}  ${(base / v).toFixed(2)}`);
    }
  }
}
