// Shared behaviour suite: the request hooks run around every request, in every mode (gthread
// threads import them again, as worker processes do).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, waitFor } from "../support/harness.ts";
import { forEachMode } from "./modes.ts";

forEachMode(
  "pre_request and post_request",
  { args: ["-c", `${ROOT}/test/parity/fixtures/request-hooks.config.ts`], env: { HOOK_LOG: "DIR/hooks.log" } },
  (srv) => {
    test("each request is seen by both hooks, the response's status included", async () => {
      const s = srv();
      expect((await s.fetch("/json")).status).toBe(200);
      expect((await s.fetch("/nope")).status).toBe(404);
      expect((await s.fetch("/error")).status).toBe(500);
      const log = join(s.dir, "hooks.log");
      const lines = await waitFor("6 hook lines", () => {
        const l = readFileSync(log, "utf8").trim().split("\n");
        if (l.length < 6) throw new Error(JSON.stringify(l));
        return l;
      });
      expect(lines.slice(0, 6)).toEqual(["pre GET /json", "post GET /json 200", "pre GET /nope", "post GET /nope 404", "pre GET /error", "post GET /error 500"]);
    });
  },
);
