/**
 * An Elysia app served by bunicorn, `.ws()` routes included (bunicorn wires them as Elysia's
 * `app.listen()` would: src/app/elysia.ts). Export the app and do not call `listen()`:
 *
 *     bunx bunicorn examples/elysia.ts:app -w 2
 */
import { Elysia } from "elysia";

export const app = new Elysia()
  .get("/", () => "Hello from Elysia!")
  .get("/users/:id", ({ params }) => ({ id: params.id, pid: process.pid }))
  .post("/echo", ({ body }) => body)
  .ws("/ws", {
    open(ws) {
      ws.subscribe("room");
      ws.send("welcome");
    },
    message(ws, message) {
      // Echo to the sender; `/shout` goes to everyone in the room through app.server.
      if (message === "/shout") app.server?.publish("room", "everyone!");
      else ws.send(message);
    },
  });
