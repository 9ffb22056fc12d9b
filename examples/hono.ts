/**
 * A Hono app served by bunicorn:
 *
 *     bunx bunicorn examples/hono.ts:app -w 2
 */
import { Hono } from "hono";

export const app = new Hono();

app.get("/", (c) => c.text("Hello from Hono!"));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), pid: process.pid }));
app.post("/echo", async (c) => c.text(await c.req.text()));
