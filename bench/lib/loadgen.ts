/**
 * A small HTTP/1.1 keep-alive load generator for unix sockets (wrk cannot connect to one).
 *
 *   bun bench/lib/loadgen.ts --unix PATH[,PATH...] [-c 64] [-d 5] [-p 2] [--path /]
 *   bun bench/lib/loadgen.ts --tcp HOST:PORT ...        (to compare it with wrk)
 *
 * Like `wrk -t2 -c64`: `-p` processes share `-c` connections, each connection sends one GET,
 * reads the whole response (Content-Length or chunked), and sends the next, for `-d` seconds.
 * With several paths, connections are spread over them round-robin (raw Bun.serve cannot
 * share one unix path between processes, so it listens on one path per process).
 * Prints one line: BENCH {"requests":N,"duration_us":N,"rps":X,"errors":N}
 */
type Target = { unix: string } | { hostname: string; port: number };

function parseArgs(argv: string[]) {
  const opt = { targets: [] as Target[], c: 64, d: 5, p: 2, path: "/", child: -1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1] ?? "";
    if (a === "--unix") { opt.targets.push(...v.split(",").map((unix) => ({ unix }))); i++; }
    else if (a === "--tcp") { const k = v.lastIndexOf(":"); opt.targets.push({ hostname: v.slice(0, k), port: Number(v.slice(k + 1)) }); i++; }
    else if (a === "-c") { opt.c = Number(v); i++; }
    else if (a === "-d") { opt.d = Number(v); i++; }
    else if (a === "-p") { opt.p = Number(v); i++; }
    else if (a === "--path") { opt.path = v; i++; }
    else if (a === "--child") { opt.child = Number(v); i++; }
    else throw new Error(`loadgen: unknown argument ${a}`);
  }
  if (!opt.targets.length) throw new Error("loadgen: give --unix PATH[,PATH] or --tcp HOST:PORT");
  return opt;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

/** Bytes a complete response at the start of `buf` takes, or 0 if it is not complete yet. */
function responseLength(buf: Buffer): number {
  const h = buf.indexOf(CRLFCRLF);
  if (h < 0) return 0;
  const head = buf.toString("latin1", 0, h).toLowerCase();
  const m = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (m) {
    const total = h + 4 + Number(m[1]);
    return buf.length >= total ? total : 0;
  }
  if (head.includes("transfer-encoding: chunked")) {
    const end = buf.indexOf("\r\n0\r\n\r\n", h + 2);
    if (end >= 0) return end + 7;
    return buf.subarray(h + 4, h + 9).toString("latin1") === "0\r\n\r\n" ? h + 9 : 0;
  }
  return h + 4; // no body
}

async function child(opt: ReturnType<typeof parseArgs>, conns: number, offset: number) {
  const req = Buffer.from(`GET ${opt.path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  const deadline = performance.now() + opt.d * 1000;
  let requests = 0, errors = 0;
  const start = performance.now();
  const finished: Promise<void>[] = [];
  for (let i = 0; i < conns; i++) {
    const target = opt.targets[(offset + i) % opt.targets.length]!;
    finished.push(new Promise<void>((resolve) => {
      let pending: Buffer = Buffer.alloc(0);
      Bun.connect({
        ...target,
        socket: {
          open(s) { s.write(req); },
          data(s, chunk) {
            pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
            for (;;) {
              const n = responseLength(pending);
              if (!n) break;
              if (pending[9] !== 0x32) errors++; // "HTTP/1.1 2xx"
              requests++;
              pending = pending.subarray(n);
              if (performance.now() >= deadline) { s.end(); return; }
              s.write(req);
            }
          },
          close() { resolve(); },
          error() { errors++; resolve(); },
          connectError() { errors++; resolve(); },
        },
      } as Parameters<typeof Bun.connect>[0]).catch(() => { errors++; resolve(); });
    }));
  }
  await Promise.all(finished);
  const duration = performance.now() - start;
  return { requests, errors, duration_us: Math.round(duration * 1000) };
}

const opt = parseArgs(process.argv.slice(2));
if (opt.child >= 0) {
  const per = Math.floor(opt.c / opt.p) + (opt.child < opt.c % opt.p ? 1 : 0);
  console.log(JSON.stringify(await child(opt, per, opt.child * Math.ceil(opt.c / opt.p))));
  process.exit(0);
} else {
  const procs = Array.from({ length: opt.p }, (_, i) =>
    Bun.spawn([process.execPath, import.meta.path, ...process.argv.slice(2), "--child", String(i)], {
      stdout: "pipe",
      stderr: "inherit",
    }),
  );
  const results = await Promise.all(procs.map(async (p) => JSON.parse(await new Response(p.stdout).text())));
  const requests = results.reduce((a, r) => a + r.requests, 0);
  const errors = results.reduce((a, r) => a + r.errors, 0);
  const duration_us = Math.max(...results.map((r) => r.duration_us));
  const rps = results.reduce((a, r) => a + r.requests / (r.duration_us / 1e6), 0);
  console.log(`BENCH ${JSON.stringify({ requests, duration_us, rps: Math.round(rps * 100) / 100, errors })}`);
}
