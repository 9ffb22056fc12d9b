/**
 * An app built by a factory, named on the command line with its arguments:
 *
 *     bunx bunicorn 'examples/factory.ts:createApp("staging")'
 */
export function createApp(environment = "production") {
  const started = new Date().toISOString();
  return {
    fetch(req: Request): Response {
      const { pathname } = new URL(req.url, "http://localhost");
      if (pathname === "/health") return Response.json({ ok: true, environment, started });
      return new Response(`Hello from ${environment}!`);
    },
  };
}
