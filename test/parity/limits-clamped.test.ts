// Shared behaviour suite: parser limits above Gunicorn's maxima are accepted and clamped, as
// Gunicorn does (it validates them as any integer >= 0 and uses 8190 / 32768 when parsing), with
// one warning at start; before, `--limit-request-line 8200` was refused ("0 to 8190").
import { expect, test } from "bun:test";
import { parseResponse } from "../support/http-client.ts";
import { forEachMode, type Served } from "./modes.ts";

async function status(s: Served, raw: string): Promise<number | null> {
  const c = await s.connect();
  c.write(raw);
  await c.until((t) => parseResponse(t) !== null || c.closed, 5000);
  c.end();
  return parseResponse(c.text, c.closed)?.status ?? null;
}

const line = (n: number) => `GET /${"a".repeat(n - "GET / HTTP/1.1".length)} HTTP/1.1`;

forEachMode("limit_request_line 8200 and limit_request_fields 40000", { args: ["--limit-request-line", "8200", "--limit-request-fields", "40000"] }, (srv) => {
  test("both are accepted, with one warning each at start", () => {
    const out = srv().b.output();
    expect(out).not.toContain("Error:");
    // Values other than the defaults select shared-socket mode, where the engine enforces them exactly.
    expect(out).toContain("(shared-socket mode)");
    expect(out).toMatch(/\[WARNING\] limit_request_line 8200 is above 8190/);
    expect(out).toMatch(/\[WARNING\] limit_request_fields 40000 is above 32768/);
  });

  test("the request line is limited to 8190 bytes", async () => {
    expect(await status(srv(), `${line(8190)}\r\nHost: x\r\nConnection: close\r\n\r\n`)).toBe(404);
    expect(await status(srv(), `${line(8191)}\r\nHost: x\r\nConnection: close\r\n\r\n`)).toBe(400);
  });

  test("more fields than the default 100 pass", async () => {
    const fields = Array.from({ length: 150 }, (_, i) => `X-F${i}: v\r\n`).join("");
    expect(await status(srv(), `GET / HTTP/1.1\r\nHost: x\r\n${fields}Connection: close\r\n\r\n`)).toBe(200);
  });
});
