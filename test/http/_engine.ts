// Starting engines for the tests in this folder; each test file calls `afterEach(stopEngines)`.
import { serveHttp, type HttpEngine, type HttpEngineOptions, type HttpTarget } from "../../src/http/index.ts";
import { parseAll } from "../support/http-client.ts";

export type Engine = HttpEngine & { readonly port: number };
const engines: Engine[] = [];

/** An engine on `target` (default: 127.0.0.1 with a free port), stopped after the test. */
export function start(fetch: HttpEngineOptions["fetch"], extra: Partial<HttpEngineOptions> = {}, target: HttpTarget = { hostname: "127.0.0.1", port: 0 }): Engine {
  const e = serveHttp(target, { fetch, ...extra });
  engines.push(e);
  return e;
}

/** Stops every engine started since the last call, at once. */
export async function stopEngines(): Promise<void> {
  for (const e of engines.splice(0)) await e.stop(false);
}

/** A GET request for `path` with extra header lines. */
export const GET = (path: string, ...headers: string[]) => `GET ${path} HTTP/1.1\r\nHost: t.example\r\n${headers.map((h) => h + "\r\n").join("")}\r\n`;
/** A predicate for `until`: at least `n` responses received. */
export const hasN = (n: number) => (t: string) => parseAll(t).length >= n;
