/**
 * @module
 * `bunicorn ctl [--control-socket PATH] [--json] COMMAND`: the control socket's client. The
 * path comes from `--control-socket` or `BUNICORN_CONTROL_SOCKET`. It sends one JSON request line
 * and prints the reply: a table for people, or the reply's `result` as one JSON line (`--json`).
 * A bad command or an unreachable socket is one `Error:` line and a non-zero exit (2 for a usage
 * mistake, 1 otherwise).
 */
import type { Socket } from "bun";
import { CLIENT_TIMEOUT_MS, COMMAND_USAGE, parseCommand, type ControlCommand, type ControlReply } from "../src/arbiter/control-protocol.ts";
import { formatResult } from "./ctl-format.ts";

const ENV = "BUNICORN_CONTROL_SOCKET";
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const USAGE = `Usage: bunicorn ctl [--control-socket PATH] [--json] COMMAND

Talks to a running arbiter's control socket (the control_socket setting).

Commands:
${COMMAND_USAGE.map((c) => `  ${c}`).join("\n")}

Options:
  --control-socket PATH  the socket (default: $${ENV})
  --json                 print the result as JSON (one line), for scripts
  -h, --help             show this help
`;

class UsageError extends Error {}

interface CtlArgs {
  socket: string | null;
  json: boolean;
  help: boolean;
  words: string[];
}

function parseArgs(argv: readonly string[]): CtlArgs {
  const out: CtlArgs = { socket: null, json: false, help: false, words: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") out.json = true;
    else if (a === "-h" || a === "--help") out.help = true;
    else if (a === "--control-socket") {
      const v = argv[++i];
      if (v === undefined || v === "") throw new UsageError("--control-socket: expected a PATH");
      out.socket = v;
    } else if (a.startsWith("--control-socket=")) {
      const v = a.slice("--control-socket=".length);
      if (v === "") throw new UsageError("--control-socket: expected a PATH");
      out.socket = v;
    } else if (a.startsWith("-") && !/^-[0-9]+$/.test(a)) throw new UsageError(`unknown option for bunicorn ctl: ${a}`);
    else out.words.push(a);
  }
  return out;
}

/** Sends one request line; resolves to the reply line's object. */
function request(path: string, words: readonly string[]): Promise<ControlReply> {
  return new Promise<ControlReply>((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let settled = false;
    let sock: Socket<undefined> | null = null;
    const finish = (err: Error | null, reply?: ControlReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        sock?.end();
      } catch {}
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new Error(`no reply from ${path} within ${CLIENT_TIMEOUT_MS / 1000} s`)), CLIENT_TIMEOUT_MS);
    const tryParse = (final: boolean) => {
      const text = Buffer.concat(chunks).toString("utf8");
      const nl = text.indexOf("\n");
      if (nl === -1 && !final) return;
      const line = nl === -1 ? text : text.slice(0, nl);
      if (line.trim() === "") return finish(new Error(`${path} closed the connection without a reply`));
      try {
        finish(null, JSON.parse(line) as ControlReply);
      } catch {
        finish(new Error(`${path} sent a reply that is not JSON`));
      }
    };
    Bun.connect<undefined>({
      unix: path,
      socket: {
        open(s) {
          sock = s;
          s.write(`${JSON.stringify({ command: words })}\n`);
        },
        data(_s, chunk) {
          chunks.push(chunk.slice());
          tryParse(false);
        },
        end() {
          tryParse(true);
        },
        close() {
          tryParse(true);
        },
        error(_s, e) {
          finish(e);
        },
        connectError(_s, e) {
          finish(e);
        },
      },
    }).catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
  });
}

/** Why a connect failed, in words. */
function connectMessage(path: string, e: Error): string {
  const code = (e as { code?: string }).code ?? "";
  if (code === "ENOENT" || /ENOENT|no such file/i.test(e.message)) return `cannot connect to the control socket ${path}: no such file (is the server running with --control-socket ${path}?)`;
  if (code === "ECONNREFUSED" || /ECONNREFUSED|refused/i.test(e.message)) return `cannot connect to the control socket ${path}: connection refused (no server answers there)`;
  if (code === "EACCES" || /EACCES|permission/i.test(e.message)) return `cannot connect to the control socket ${path}: permission denied`;
  return `control socket ${path}: ${e.message.split("\n")[0]}`;
}

function fail(message: string, code: number): number {
  process.stderr.write(`Error: ${message}\n`);
  return code;
}

/** Runs `bunicorn ctl ARGS`; resolves to the exit status. */
export async function ctlMain(argv: readonly string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let args: CtlArgs;
  let cmd: ControlCommand;
  try {
    args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    cmd = parseCommand(args.words);
  } catch (e) {
    return fail((e as Error).message, EXIT_USAGE);
  }
  const path = args.socket ?? env[ENV] ?? "";
  if (path === "") return fail(`no control socket: give --control-socket PATH or set ${ENV}`, EXIT_USAGE);
  let reply: ControlReply;
  try {
    reply = await request(path, args.words);
  } catch (e) {
    return fail(connectMessage(path, e as Error), EXIT_FAILED);
  }
  if (typeof reply !== "object" || reply === null || typeof reply.ok !== "boolean") return fail(`${path} sent an unexpected reply`, EXIT_FAILED);
  if (!reply.ok) return fail(reply.error, EXIT_FAILED);
  process.stdout.write(args.json ? `${JSON.stringify(reply.result)}\n` : formatResult(cmd, reply.result));
  return 0;
}
