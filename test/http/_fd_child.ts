// Child process for the inherited-fd test: serves fd 3 with the engine.
import { serveHttp } from "../../src/http/index.ts";

const engine = serveHttp({ fd: 3 }, { fetch: (req) => new Response(`child ${process.pid} ${req.url}`) });
process.on("SIGTERM", () => {
  void engine.stop().then(() => process.exit(0));
});
process.stdout.write("ready\n");
