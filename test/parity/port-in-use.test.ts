// Shared behaviour suite: a second bunicorn on an address the first one serves fails at start
// with Gunicorn's "Connection in use: ADDRESS" and a non-zero exit, starting no worker, in every
// mode (reuse-port workers bind with SO_REUSEPORT, so the arbiter's probe must not use it).
import { expect, test } from "bun:test";
import { startBunicorn } from "../support/harness.ts";
import { APP, forEachMode, type Mode } from "./modes.ts";

/** The command line of `mode` on `bind`, as modes.ts builds it. */
function argsOf(mode: Mode, bind: string): string[] {
  const args = [APP, "-w", "1", "-b", bind];
  if (mode.listen === "shared-socket" && !mode.unix) args.push("--no-reuse-port");
  if (mode.gthread) args.push("-k", "gthread", "--threads", "2");
  return args;
}

forEachMode("a second instance on the same address", {}, (srv, mode) => {
  test("fails with 'Connection in use', a non-zero exit and no worker; the first keeps serving", async () => {
    const s = srv();
    const bind = mode.unix ? `unix:${s.socketPath}` : `127.0.0.1:${s.port}`;
    const second = await startBunicorn(argsOf(mode, bind), { ready: null });
    const code = await Promise.race([second.proc.exited, Bun.sleep(10_000).then(() => null)]);
    expect({ code, output: second.output() }).toMatchObject({ code: 1 });
    const errors = second.output().split("\n").filter((l) => /\[ERROR\]|Error:/.test(l));
    const where = mode.unix ? s.socketPath : `127.0.0.1:${s.port}`;
    expect(errors.length).toBe(1);
    expect(errors[0]!.endsWith(`Connection in use: ${where}`)).toBe(true);
    expect(second.output()).not.toContain("Booting worker");
    for (let i = 0; i < 4; i++) expect(await (await s.fetch(`/?i=${i}`)).text()).toBe("hello");
  });
});
