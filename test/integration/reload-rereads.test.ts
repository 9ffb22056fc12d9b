// HUP re-reads the logging config (Gunicorn 26.1): the log level, errorlog, accesslog and the
// access format from a changed config file (reuse-port TCP), and a changed `logconfig` module
// (a unix socket); the arbiter and the new workers use the new one. `reload_extra_files` takes
// glob patterns re-expanded on every check: a file created after start that matches reloads when
// it changes (relative `**` pattern, absolute `*` pattern).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, freePort, get, killAll, sleep, startBunicorn, waitFor, waitForHttp } from "../support/harness.ts";

const dirs: string[] = [];
afterAll(async () => {
  await killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A scratch tree: `app/` (the chdir --reload watches), `conf/` (config files), `logs/`. */
function scratch(): { app: string; conf: string; logs: string } {
  const root = mkdtempSync(join(tmpdir(), "bunicorn-reread-"));
  dirs.push(root);
  const d = { app: join(root, "app"), conf: join(root, "conf"), logs: join(root, "logs") };
  for (const p of Object.values(d)) mkdirSync(p);
  return d;
}

const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");
const lines = (path: string) => read(path).split("\n").filter(Boolean);

/** Creates a file matching the glob, lets a check remember it, changes it: the reload must follow the change, not the creation. */
async function globReload(errorLog: string, file: string): Promise<void> {
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, "<p>one</p>\n");
  // Longer than a check (0.5 s): the new file is now known, and its creation reloaded nothing.
  await sleep(800);
  expect(read(errorLog)).not.toContain("Worker reloading");
  const spawned = () => (read(errorLog).match(/Booting worker with pid/g) ?? []).length;
  const before = spawned();
  // Changed until the reload comes (on a busy machine a check may not have run yet: bounded).
  const reloaded = () => read(errorLog).includes(`Worker reloading: ${file} modified`);
  for (let i = 1; i <= 4 && !reloaded(); i++) {
    writeFileSync(file, `<p>change ${i}</p>\n`);
    await waitFor(`a reload for ${file}`, reloaded, 1500).catch(() => {});
  }
  expect(reloaded()).toBe(true);
  await waitFor("a new generation's worker", () => spawned() > before, 5000);
}

describe("HUP re-reads the logging config; reload_extra_files globs", () => {
  test("reuse-port TCP: a config file's loglevel, errorlog, accesslog and access_log_format; a relative ** pattern", async () => {
    const d = scratch();
    const conf = join(d.conf, "bunicorn.config.ts");
    const [a1, a2, e2] = [join(d.logs, "a1.log"), join(d.logs, "a2.log"), join(d.logs, "e2.log")];
    const common = `export const chdir = ${JSON.stringify(d.app)};\nexport const reload = true;\nexport const reload_extra_files = ["templates/**/*.html"];\n`;
    writeFileSync(conf, `${common}export const loglevel = "warning";\nexport const accesslog = ${JSON.stringify(a1)};\n`);
    const port = await freePort();
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-c", conf, "-b", `127.0.0.1:${port}`, "-w", "1"], { env: { BUNICORN_LOGLEVEL: undefined }, ready: null });
    await waitForHttp(`http://127.0.0.1:${port}/pid`);
    await waitFor("the first access line", () => lines(a1).length >= 1, 5000);
    // At warning: the pattern that matches nothing yet is a warning, the boot's INFO lines are not logged.
    expect(b.output()).toContain('[WARNING] reload_extra_files: "templates/**/*.html" matches no file yet');
    expect(b.output()).not.toContain("[INFO]");

    writeFileSync(
      conf,
      `${common}export const loglevel = "debug";\nexport const errorlog = ${JSON.stringify(e2)};\nexport const accesslog = ${JSON.stringify(a2)};\nexport const access_log_format = "NEW %(m)s %(U)s %(s)s";\n`,
    );
    b.signal("SIGHUP");
    // The arbiter's new logger: DEBUG lines, in the new error log.
    await waitFor("a DEBUG 'booted' line in the new error log", () => /\[DEBUG\] Worker \(pid:\d+\) booted/.test(read(e2)), 10_000);
    const old = lines(a1).length;
    await waitFor("the new worker's access line", async () => {
      await get(`http://127.0.0.1:${port}/pid`);
      return lines(a2).includes("NEW GET /pid 200");
    }, 5000);
    expect(lines(a1).length).toBe(old);
    expect(lines(a1)[0]).toContain('"GET /pid HTTP/1.1" 200');

    await globReload(e2, join(d.app, "templates", "deep", "er", "new.html"));
    expect(await b.stop()).toBe(0);
  });

  test("unix socket: a changed logconfig module (level, targets, JSON access lines); an absolute * pattern", async () => {
    const d = scratch();
    const logconfig = join(d.conf, "log.ts");
    const [a1, a2, e2] = [join(d.logs, "a1.log"), join(d.logs, "a2.log"), join(d.logs, "e2.log")];
    writeFileSync(logconfig, `export default { error: { level: "warning" }, access: { targets: [${JSON.stringify(a1)}] } };\n`);
    const conf = join(d.conf, "bunicorn.config.json");
    const pattern = join(d.app, "templates", "*.html");
    writeFileSync(conf, JSON.stringify({ chdir: d.app, logconfig, reload: true, reload_extra_files: [pattern] }));
    const sock = join(d.app, "..", "s.sock");
    const b = await startBunicorn([`${FIXTURES}/app.ts`, "-c", conf, "-b", `unix:${sock}`, "-w", "1"], { env: { BUNICORN_LOGLEVEL: undefined }, ready: null });
    await waitForHttp("http://localhost/pid", 10_000, sock);
    await waitFor("the first access line", () => lines(a1).length >= 1, 5000);
    expect(b.output()).not.toContain("[INFO]");

    writeFileSync(logconfig, `export default { error: { level: "debug", targets: [${JSON.stringify(e2)}] }, access: { targets: [${JSON.stringify(a2)}], format: "json" } };\n`);
    b.signal("SIGHUP");
    await waitFor("a DEBUG 'booted' line in the new error log", () => /\[DEBUG\] Worker \(pid:\d+\) booted/.test(read(e2)), 10_000);
    const old = lines(a1).length;
    await waitFor("the new worker's JSON access line", async () => {
      await get("http://localhost/pid", { unix: sock });
      return lines(a2).some((l) => l.startsWith("{") && JSON.parse(l).method === "GET" && JSON.parse(l).path === "/pid");
    }, 5000);
    expect(lines(a1).length).toBe(old);

    await globReload(e2, join(d.app, "templates", "later.html"));
    expect(await b.stop()).toBe(0);
  });
});
