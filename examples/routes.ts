/**
 * A plain Bun app with `routes`, as `Bun.serve({ routes })` takes them: served by bunicorn the
 * same way in every listening mode (`req.params`, per-method handlers, static responses).
 *
 *     bunx bunicorn examples/routes.ts -w 2
 */
import type { BunRequest } from "bun";

const items = [{ id: 1, name: "unicorn" }];

export default {
  routes: {
    "/": new Response("Hello from Bun routes!"),
    "/users/:id": (req: BunRequest<"/users/:id">) => Response.json({ id: req.params.id, pid: process.pid }),
    "/items": {
      GET: () => Response.json(items),
      POST: async (req: Request) => Response.json({ id: items.length + 1, ...((await req.json()) as object) }, { status: 201 }),
    },
  },
  // What no route takes.
  fetch: () => new Response("Not Found", { status: 404 }),
};
