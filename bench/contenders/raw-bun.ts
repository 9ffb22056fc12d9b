/**
 * The limit: raw `Bun.serve` in 2 processes with `reusePort`, serving bench/apps/hello.ts.
 *
 *   bun bench/contenders/raw-bun.ts 127.0.0.1:PORT [-w N]
 *   bun bench/contenders/raw-bun.ts unix:/path/raw.sock [-w N]
 *
 * A unix path cannot be shared by several Bun.serve processes, so with `unix:PATH` process i
 * listens on `PATH.i` and the load generator (bench/lib/loadgen.ts) spreads its connections
 * over the paths: the ideal, perfectly balanced split.
 *
 * `development: false` as in a production deployment (and as bunicorn's workers set it); Bun's
 * default, development mode when NODE_ENV is not "production", is measurably slower.
 *
 * The launcher starts the servers in its own process group and exits, so only the serving
 * processes remain (and count in the memory figure). Stop them by killing the process group.
 */
import app from "../apps/hello.ts";

const args = process.argv.slice(2);

if (args[0] === "--child") {
  const [, bind, index] = args as [string, string, string];
  const server = bind.startsWith("unix:")
    ? Bun.serve({ unix: `${bind.slice(5)}.${index}`, development: false, fetch: app.fetch })
    : Bun.serve({
        hostname: bind.slice(0, bind.lastIndexOf(":")),
        port: Number(bind.slice(bind.lastIndexOf(":") + 1)),
        reusePort: true,
        development: false,
        fetch: app.fetch,
      });
  void server;
} else {
  const bind = args[0];
  if (!bind) {
    console.error("usage: raw-bun.ts HOST:PORT|unix:PATH [-w N]");
    process.exit(2);
  }
  const wi = args.indexOf("-w");
  const workers = wi >= 0 ? Number(args[wi + 1]) : 2;
  for (let i = 0; i < workers; i++) {
    const child = Bun.spawn([process.execPath, import.meta.path, "--child", bind, String(i)], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.unref();
  }
}
