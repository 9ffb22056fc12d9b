/**
 * The smallest bunicorn app: a fetch handler as the default export.
 *
 *     bunx bunicorn examples/hello.ts -w 2 -b 127.0.0.1:8000
 */
export default {
  fetch(_req: Request): Response {
    return new Response("Hello, World!");
  },
};
