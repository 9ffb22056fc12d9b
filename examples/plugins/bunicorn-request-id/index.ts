/**
 * bunicorn-request-id: a worker-class plugin package. Every response carries an `X-Request-Id`:
 * the client's own when it sent one, else a new UUID; the app reads it from the request too.
 *
 *     bunicorn app.ts -k egg:bunicorn-request-id#request-id
 *
 * `egg:bunicorn-request-id#request-id` resolves through the `"bunicorn"` field of this
 * package's package.json.
 */
import { ProcessWorker } from "bunicorn/worker";

export class RequestIdWorker extends ProcessWorker {
  override async respond(req: Request, _server: unknown, next: () => Response | Promise<Response>): Promise<Response> {
    let id = req.headers.get("x-request-id");
    if (id === null) {
      id = crypto.randomUUID();
      req.headers.set("x-request-id", id);
    }
    const res = await next();
    if (res instanceof Response) res.headers.set("x-request-id", id);
    return res;
  }
}
