/**
 * What the default access-log format costs before bunicorn does anything: one raw Bun.serve
 * process whose handler reads what `%(h)s ... "%(f)s" "%(a)s"` needs (requestIP, two request
 * headers, the URL, the method, the response's Content-Length), or nothing.
 *
 *     bun bench/micro/access-log-accessors.ts none|hdr|ip|reshdr|url|all [PORT]
 *     wrk -t1 -c32 -d3s http://127.0.0.1:28720/
 */
const [mode = "none", port = "28720"] = process.argv.slice(2);
let sink = 0;
Bun.serve({
  port: Number(port),
  hostname: "127.0.0.1",
  development: false,
  fetch(req, server) {
    const res = new Response("Hello, World!");
    switch (mode) {
      case "hdr":
        sink += (req.headers.get("referer") ?? "").length + (req.headers.get("user-agent") ?? "").length;
        break;
      case "ip":
        sink += server.requestIP(req)?.address.length ?? 0;
        break;
      case "reshdr":
        sink += (res.headers.get("content-length") ?? "").length;
        break;
      case "url":
        sink += req.url.length;
        break;
      case "all":
        sink += (req.headers.get("referer") ?? "").length + (req.headers.get("user-agent") ?? "").length;
        sink += (server.requestIP(req)?.address.length ?? 0) + (res.headers.get("content-length") ?? "").length;
        sink += req.url.length + req.method.length;
        break;
    }
    return res;
  },
});
