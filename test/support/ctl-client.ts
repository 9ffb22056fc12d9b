/**
 * @module
 * @internal Runs `bunicorn ctl` (the real command, as a process) and talks to a control socket
 * directly, for the control-socket tests. Every wait is bounded.
 */
import { CLI, ROOT } from "./harness.ts";

export interface CtlRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the whole command, process start included (ms). */
  ms: number;
}

/** `bunicorn ctl ARGS`, killed after `timeoutMs`. */
export async function ctl(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CtlRun> {
  const start = performance.now();
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  if (!opts.env || !("BUNICORN_CONTROL_SOCKET" in opts.env)) delete env.BUNICORN_CONTROL_SOCKET;
  const proc = Bun.spawn([process.execPath, CLI, "ctl", ...args], { cwd: ROOT, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr, ms: performance.now() - start };
}

/** `bunicorn ctl --control-socket PATH --json ARGS`: the parsed result (throws with the output otherwise). */
export async function ctlJson<T = any>(socket: string, args: string[]): Promise<T> {
  const r = await ctl(["--control-socket", socket, "--json", ...args]);
  if (r.code !== 0) throw new Error(`bunicorn ctl ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * Sends raw bytes to a unix socket and collects what comes back until the server closes (or
 * `timeoutMs`). Resolves to the text and how long the server took to close.
 */
export async function rawExchange(path: string, send: string | Uint8Array | null, timeoutMs = 10_000): Promise<{ text: string; closedAfterMs: number; closed: boolean }> {
  const start = performance.now();
  let text = "";
  const dec = new TextDecoder();
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ text, closedAfterMs: performance.now() - start, closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    Bun.connect({
      unix: path,
      socket: {
        open(s) {
          if (send !== null) s.write(send);
        },
        data(_s, chunk) {
          text += dec.decode(chunk, { stream: true });
        },
        close() {
          finish(true);
        },
        end() {
          finish(true);
        },
        error(_s, e) {
          if (!done) reject(e);
        },
      },
    }).catch(reject);
  });
}
