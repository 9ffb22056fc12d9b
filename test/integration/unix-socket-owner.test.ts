// A unix socket bunicorn binds is chowned to the workers' --user/--group, as Gunicorn does
// (sock.py: util.chown(path, uid, gid)), so workers that dropped privileges and a proxy in that
// group can reach it. Without --user/--group it keeps the arbiter's owner.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FIXTURES, get, killAll, startBunicorn } from "../support/harness.ts";

const dir = mkdtempSync(join(tmpdir(), "bunicorn-owner-"));
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

const root = process.getuid!() === 0;

test("--user nobody --group nogroup: the unix socket belongs to them and the workers serve it", async () => {
  // The test runs as root here and in CI; as another user the chown cannot happen, so say so.
  expect({ runningAsRoot: root }).toEqual({ runningAsRoot: true });
  const sock = join(dir, "owned.sock");
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `unix:${sock}`, "--user", "nobody", "--group", "nogroup"]);
  const st = statSync(sock);
  expect({ uid: st.uid, gid: st.gid }).toEqual({ uid: 65534, gid: 65534 });
  const res = await get("http://localhost/", { unix: sock });
  expect(res.status).toBe(200);
  expect(await b.stop()).toBe(0);
}, 20_000);

test("without --user/--group the socket keeps the arbiter's owner", async () => {
  const sock = join(dir, "plain.sock");
  const b = await startBunicorn([`${FIXTURES}/app.ts`, "-b", `unix:${sock}`]);
  const st = statSync(sock);
  expect({ uid: st.uid, gid: st.gid }).toEqual({ uid: process.getuid!(), gid: process.getgid!() });
  expect(await b.stop()).toBe(0);
}, 20_000);
