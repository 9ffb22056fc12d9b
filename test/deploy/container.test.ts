/**
 * The deploy kit's Dockerfile and Kubernetes manifests (examples/deploy/Dockerfile,
 * kubernetes.yaml). Neither Docker nor a cluster runs here, so each is run the way its runtime
 * would run it (docs/deploy.md, "What was tried"), with only ports moved:
 *
 * - the Dockerfile's ENTRYPOINT + CMD pass --check-config, and run as the image would: PID 1 of a
 *   new pid namespace (`unshare -pf --mount-proc`), as the image's user (uid 1000, `setpriv`),
 *   from a directory laid out as its WORKDIR, `bun` found on PATH; its HEALTHCHECK command
 *   succeeds while it serves and fails once `docker stop` (STOPSIGNAL) has stopped it with exit 0;
 * - the manifests parse (Bun.YAML), the Service and the probes name ports that are the
 *   arguments' `--bind` and `--metrics-bind`, the grace period covers drain + graceful stop, and
 *   the container (ENTRYPOINT + `args`, runAsUser) answers the probes as the kubelet asks them;
 *   on SIGTERM `/readyz` turns 503 at once while requests and `/healthz` still get 200 for the
 *   drain delay, then it exits 0 within `terminationGracePeriodSeconds`.
 *
 * What the image build itself does (`bun install --production`, the base image, USER bun's uid)
 * is not tried here.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { childPids, freePort, sleep, waitFor } from "../support/harness.ts";
import { appTree, example, execForm, flagValue, parseDockerfile, run, start, withPorts, type AppTree, type Running } from "./_kit.ts";

let tree: AppTree;
const docker = parseDockerfile(example("Dockerfile"));
const manifests = Bun.YAML.parse(example("kubernetes.yaml")) as K8sObject[];

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}
interface Probe {
  httpGet: { path: string; port: string | number };
  periodSeconds?: number;
}
interface Container {
  name: string;
  image: string;
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  startupProbe: Probe;
  readinessProbe: Probe;
  livenessProbe: Probe;
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; runAsUser: number; runAsGroup: number };
  containers: Container[];
}

/** The (last) arguments of a Dockerfile instruction. */
function instruction(name: string): string {
  const found = docker.filter((i) => i.instruction === name).at(-1);
  if (found === undefined) throw new Error(`the Dockerfile has no ${name}`);
  return found.args;
}

const entrypoint = execForm(instruction("ENTRYPOINT"));
const cmd = execForm(instruction("CMD"));
const deployment = manifests.find((m) => m.kind === "Deployment")!;
const service = manifests.find((m) => m.kind === "Service")!;
const pod = (deployment.spec.template as { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpec });
const container = pod.spec.containers[0]!;

/** The port a probe or a Service names (a container port's name, or a number). */
function containerPort(port: string | number): number {
  if (typeof port === "number") return port;
  const p = container.ports.find((x) => x.name === port);
  if (p === undefined) throw new Error(`no container port named ${port}`);
  return p.containerPort;
}

const portOf = (hostPort: string) => Number(hostPort.slice(hostPort.lastIndexOf(":") + 1));

/** As a container runtime starts a container's process: PID 1 of a new pid namespace, as `uid:gid`. */
function asContainer(argv: string[], user: { uid: number; gid: number }, env: Record<string, string>): Running {
  return start(["unshare", "-pf", "--kill-child", "--mount-proc", "setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", ...argv], { cwd: tree.app, env });
}

/** The container's PID 1 as seen from here (unshare's one child), once it runs. */
async function pid1(c: Running): Promise<number> {
  return waitFor("the container's PID 1", () => childPids(c.proc.pid)[0], 10_000);
}

/** The image's user: `USER bun` is uid 1000 in the oven/bun images (the manifest's runAsUser). */
const IMAGE_USER = { uid: 1000, gid: 1000 };
let env: Record<string, string>;
let dockerRun: Running;
let dockerPorts: Record<number, number>;
let pod1: Running;
let podPorts: Record<number, number>;

beforeAll(async () => {
  tree = appTree();
  env = { PATH: tree.path, HOME: "/nonexistent", HOSTNAME: "app" };
  for (const e of docker.filter((i) => i.instruction === "ENV")) {
    const [k, v] = e.args.split("=", 2) as [string, string];
    env[k] = v;
  }
  dockerPorts = { [portOf(flagValue(cmd, "--bind"))]: await freePort(), [portOf(flagValue(cmd, "--metrics-bind"))]: await freePort() };
  podPorts = Object.fromEntries(await Promise.all(container.ports.map(async (p) => [p.containerPort, await freePort()] as const)));
  const user = { uid: pod.spec.securityContext.runAsUser, gid: pod.spec.securityContext.runAsGroup };
  dockerRun = asContainer([...entrypoint, ...withPorts(cmd, dockerPorts)], IMAGE_USER, env);
  pod1 = asContainer([...entrypoint, ...withPorts(container.args, podPorts)], user, env);
  await Promise.all([dockerRun.waitForLog(/Booting worker with pid: \d+[\s\S]*Booting worker with pid: \d+/), pod1.waitForLog(/Booting worker with pid: \d+[\s\S]*Booting worker with pid: \d+/)]);
}, 30_000);

afterAll(async () => {
  await dockerRun?.stop("SIGKILL", 5000);
  await pod1?.stop("SIGKILL", 5000);
  tree?.remove();
});

test("Dockerfile: exec-form ENTRYPOINT and CMD that pass --check-config, a non-root USER, EXPOSE and HEALTHCHECK on CMD's ports", async () => {
  expect(instruction("WORKDIR")).toBe("/srv/app");
  expect(instruction("USER")).not.toMatch(/^(root|0)(:|$)/);
  expect(instruction("STOPSIGNAL")).toBe("SIGTERM");
  expect(instruction("EXPOSE").split(/\s+/).map(Number)).toEqual([portOf(flagValue(cmd, "--bind")), portOf(flagValue(cmd, "--metrics-bind"))]);
  const health = execForm(instruction("HEALTHCHECK").replace(/^(--\S+\s+)*CMD\s+/, ""));
  expect(health.join(" ")).toContain(`http://127.0.0.1:${portOf(flagValue(cmd, "--metrics-bind"))}/healthz`);
  expect(await run([...entrypoint, ...cmd, "--check-config"], { cwd: tree.app, env })).toEqual({ code: 0, out: "" });
});

test("Docker: the arbiter is PID 1 as uid 1000, serves, HEALTHCHECK passes; docker stop (TERM) exits 0 and HEALTHCHECK then fails", async () => {
  const pid = await pid1(dockerRun);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  expect(status).toMatch(/^NSpid:\t\d+\t1$/m);
  expect(status).toMatch(/^Uid:\t1000\t1000\t1000\t1000$/m);
  expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("bunicorn master");
  const port = dockerPorts[portOf(flagValue(cmd, "--bind"))]!;
  await waitFor("the app", async () => (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).status === 200, 15_000);

  const metrics = dockerPorts[portOf(flagValue(cmd, "--metrics-bind"))]!;
  const health = execForm(instruction("HEALTHCHECK").replace(/^(--\S+\s+)*CMD\s+/, "")).map((a) => a.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${metrics}`));
  const asUser = ["setpriv", `--reuid=${IMAGE_USER.uid}`, `--regid=${IMAGE_USER.gid}`, "--clear-groups", "--", ...health];
  expect((await run(asUser, { cwd: tree.app, env })).code).toBe(0);

  // docker stop: STOPSIGNAL to PID 1 from outside the container.
  const t0 = performance.now();
  process.kill(pid, instruction("STOPSIGNAL") as NodeJS.Signals);
  expect(await waitForExit(dockerRun, 10_000)).toBe(0);
  expect(performance.now() - t0).toBeLessThan(10_000);
  expect(dockerRun.output()).toContain("Shutting down: Master");
  expect((await run(asUser, { cwd: tree.app, env })).code).not.toBe(0);
}, 30_000);

test("Kubernetes: the manifests parse; the Service, the probes and the grace period agree with the container's arguments, which pass --check-config", async () => {
  expect(manifests.map((m) => `${m.apiVersion} ${m.kind}`)).toEqual(["apps/v1 Deployment", "v1 Service"]);
  const labels = pod.metadata.labels;
  expect(labels).toMatchObject((deployment.spec.selector as { matchLabels: Record<string, string> }).matchLabels);
  expect(labels).toMatchObject(service.spec.selector as Record<string, string>);
  const svcPort = (service.spec.ports as Array<{ targetPort: string | number }>)[0]!;
  expect(containerPort(svcPort.targetPort)).toBe(portOf(flagValue(container.args, "--bind")));
  const metricsPort = portOf(flagValue(container.args, "--metrics-bind"));
  expect([container.startupProbe, container.readinessProbe, container.livenessProbe].map((p) => [p.httpGet.path, containerPort(p.httpGet.port)])).toEqual([
    ["/readyz", metricsPort],
    ["/readyz", metricsPort],
    ["/healthz", metricsPort],
  ]);
  expect(Number(pod.metadata.annotations["prometheus.io/port"])).toBe(metricsPort);
  expect(pod.metadata.annotations["prometheus.io/path"]).toBe("/metrics");
  const drain = Number(flagValue(container.args, "--drain-delay"));
  const graceful = Number(flagValue(container.args, "--graceful-timeout"));
  expect(drain).toBeGreaterThan(0);
  expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(drain + graceful);
  expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: IMAGE_USER.uid });
  expect(await run([...entrypoint, ...container.args, "--check-config"], { cwd: tree.app, env })).toEqual({ code: 0, out: "" });
});

test("Kubernetes: the probes answer as the kubelet asks them; on SIGTERM /readyz is 503 at once, requests and /healthz get 200 through the drain, exit 0 within the grace period", async () => {
  const metrics = podPorts[portOf(flagValue(container.args, "--metrics-bind"))]!;
  const http = podPorts[portOf(flagValue(container.args, "--bind"))]!;
  const probe = async (p: Probe) => (await fetch(`http://127.0.0.1:${metrics}${p.httpGet.path}`, { signal: AbortSignal.timeout(2000) })).status;
  await waitFor("the startup probe", async () => (await probe(container.startupProbe)) === 200, 15_000, 200);
  expect([await probe(container.readinessProbe), await probe(container.livenessProbe)]).toEqual([200, 200]);
  expect((await fetch(`http://127.0.0.1:${http}/`)).status).toBe(200);

  const pid = await pid1(pod1);
  const drainMs = Number(flagValue(container.args, "--drain-delay")) * 1000;
  const t0 = performance.now();
  process.kill(pid, "SIGTERM");
  const seen: Array<{ at: number; ready: number | string; live: number | string; app: number | string }> = [];
  const status = (url: string) => fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, (e: Error) => e.name);
  // Poll until the drain is nearly over (the workers stop after it, as the endpoints are gone).
  while (performance.now() - t0 < drainMs - 500) {
    const at = performance.now() - t0;
    const [ready, live, app] = await Promise.all([status(`http://127.0.0.1:${metrics}/readyz`), status(`http://127.0.0.1:${metrics}/healthz`), status(`http://127.0.0.1:${http}/`)]);
    seen.push({ at, ready, live, app });
    await sleep(200);
  }
  const period = (container.readinessProbe.periodSeconds ?? 10) * 1000;
  const notReadyAt = seen.find((s) => s.ready === 503)?.at ?? Infinity;
  // Not ready before the kubelet's next readiness probe (measured: within milliseconds).
  expect(notReadyAt).toBeLessThan(period);
  expect(seen.filter((s) => s.at > notReadyAt && s.ready !== 503)).toEqual([]);
  expect(seen.filter((s) => s.app !== 200 || s.live !== 200)).toEqual([]);
  expect(seen.length).toBeGreaterThan(5);
  expect(await waitForExit(pod1, pod.spec.terminationGracePeriodSeconds * 1000)).toBe(0);
  expect(performance.now() - t0).toBeGreaterThan(drainMs);
  expect(pod1.output()).toContain(`Draining for ${drainMs / 1000}s before stopping`);
}, 60_000);

/** The container's exit status (unshare passes PID 1's on), bounded by `ms`. */
async function waitForExit(c: Running, ms: number): Promise<number | null> {
  await waitFor("the container to exit", () => c.proc.exitCode !== null || c.proc.signalCode !== null, ms, 50);
  return c.proc.exitCode;
}
