/**
 * The app the deploy kit serves (examples/deploy/: nginx.conf, the systemd units, the Dockerfile,
 * kubernetes.yaml; docs/deploy.md). It shows what the app sees behind nginx: `req.url` with the
 * scheme nginx was reached by, and the client's address from a trusted `X-Forwarded-For`
 * (`clientAddress` from `bunicorn/forwarded`; `server.requestIP()` stays the proxy).
 *
 *     bunicorn examples/deploy/app.ts -w 2 -b unix:/run/bunicorn.sock
 *
 * Routes: `/` (JSON: url, client, worker pid), `/events` (a server-sent event stream: three
 * events, 300 ms apart, for nginx's unbuffered location) and `/ws` (a WebSocket echo).
 */
import type { Server } from "bun";
import { clientAddress } from "bunicorn/forwarded";

export default {
  fetch(req: Request, server: Server<undefined>): Response | undefined {
    const url = new URL(req.url);
    if (url.pathname === "/ws") {
      return server.upgrade(req) ? undefined : new Response("expected a WebSocket handshake", { status: 400 });
    }
    if (url.pathname === "/events") {
      let n = 0;
      const stream = new ReadableStream({
        async pull(controller) {
          if (n > 0) await Bun.sleep(300);
          controller.enqueue(`data: event ${++n}\n\n`);
          if (n === 3) controller.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
    }
    return Response.json({ url: req.url, client: clientAddress(req, server), pid: process.pid });
  },
  websocket: {
    message(ws: Bun.ServerWebSocket<undefined>, message: string | Buffer) {
      ws.send(message);
    },
  },
};
