// Node's `cluster` with `node:http`, 2 workers, the same routes as bench/apps/hello.ts:
//   GET / -> "Hello, World!" (13 bytes), GET /static -> the 1 MB file (BENCH_STATIC_FILE,
//   streamed with fs.createReadStream), POST /echo -> the request body.
//
//   node bench/contenders/node-cluster.js 127.0.0.1:PORT [-w N]
// (An ES module: the repository's package.json says "type": "module".)
import cluster from "node:cluster";
import fs from "node:fs";
import http from "node:http";

const bind = process.argv[2] || "127.0.0.1:8000";
const wi = process.argv.indexOf("-w");
const workers = wi >= 0 ? Number(process.argv[wi + 1]) : 2;
const host = bind.slice(0, bind.lastIndexOf(":"));
const port = Number(bind.slice(bind.lastIndexOf(":") + 1));

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on("SIGTERM", () => {
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  });
} else {
  const STATIC = process.env.BENCH_STATIC_FILE;
  const HELLO = Buffer.from("Hello, World!");
  http
    .createServer((req, res) => {
      if (req.url === "/") {
        res.writeHead(200, { "Content-Type": "text/plain;charset=utf-8", "Content-Length": HELLO.length });
        res.end(HELLO);
      } else if (req.url === "/static" && STATIC) {
        const size = fs.statSync(STATIC).size;
        res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": size });
        fs.createReadStream(STATIC).pipe(res);
      } else if (req.url === "/echo") {
        const chunks = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
          const body = Buffer.concat(chunks);
          res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": body.length });
          res.end(body);
        });
      } else {
        res.writeHead(404, { "Content-Length": 9 });
        res.end("Not Found");
      }
    })
    .listen(port, host);
}
