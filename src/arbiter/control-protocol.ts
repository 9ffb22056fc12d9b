/**
 * @module
 * The control socket's protocol, shared by the arbiter (`control-socket.ts`) and its client
 * (`bunicorn ctl`, `cli/ctl.ts`); docs/design.md ("Control socket") describes it for scripts.
 *
 * One request per connection: the client sends one JSON line, `{"command": "worker add 2"}`
 * (or the words as an array, `{"command": ["worker", "add", "2"]}`); the arbiter answers one JSON
 * line, `{"ok": true, "result": {...}}` or `{"ok": false, "error": "..."}`, and closes. This
 * module imports nothing, so the client loads no server code.
 */

/** The longest request line the arbiter reads (bytes, newline included); longer is refused. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A connection that has not sent a whole request line in this time is answered with an error and closed. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** A command queued for the arbiter loop that has not been handled in this time is answered with an error. */
export const COMMAND_TIMEOUT_MS = 10_000;
/** How long `bunicorn ctl` waits for the reply (longer than the arbiter's own bound). */
export const CLIENT_TIMEOUT_MS = 15_000;
/** Connections served at once; more are closed at once. */
export const MAX_CONNECTIONS = 16;
/** The most workers one `worker add|remove N` may change. */
export const MAX_WORKER_STEP = 100;

export type ShowWhat = "all" | "workers" | "stats" | "config" | "listeners";

/** A parsed command. */
export type ControlCommand =
  | { kind: "show"; what: ShowWhat }
  | { kind: "worker-add"; count: number }
  | { kind: "worker-remove"; count: number }
  | { kind: "worker-kill"; pid: number }
  | { kind: "reload" }
  | { kind: "reopen" }
  | { kind: "shutdown"; mode: "graceful" | "quick" };

/** The request line's object. */
export interface ControlRequest {
  command: string | string[];
}

export type ControlReply = { ok: true; result: unknown } | { ok: false; error: string };

/** The commands, as `bunicorn ctl --help` and error messages list them. */
export const COMMAND_USAGE = [
  "show all|workers|stats|config|listeners",
  "worker add [N]",
  "worker remove [N]",
  "worker kill PID",
  "reload",
  "reopen",
  "shutdown [graceful|quick]",
] as const;

const SHOW: readonly string[] = ["all", "workers", "stats", "config", "listeners"];

function count(word: string | undefined, what: string): number {
  if (word === undefined) return 1;
  if (!/^[0-9]+$/.test(word)) throw new Error(`${what}: N must be a whole number, got ${JSON.stringify(word)}`);
  const n = Number(word);
  if (n < 1 || n > MAX_WORKER_STEP) throw new Error(`${what}: N must be from 1 to ${MAX_WORKER_STEP}, got ${word}`);
  return n;
}

function noMore(words: string[], used: number, what: string): void {
  if (words.length > used) throw new Error(`${what}: unexpected ${JSON.stringify(words[used])}`);
}

/** Parses a command's words (`["worker", "add", "2"]`); throws an Error with a one-line message. */
export function parseCommand(words: readonly string[]): ControlCommand {
  const w = words.map(String);
  const [verb, sub] = w;
  switch (verb) {
    case "show": {
      const what = sub ?? "all";
      if (!SHOW.includes(what)) throw new Error(`unknown command: show ${what} (show all|workers|stats|config|listeners)`);
      noMore(w, 2, `show ${what}`);
      return { kind: "show", what: what as ShowWhat };
    }
    case "worker":
      if (sub === "add" || sub === "remove") {
        noMore(w, 3, `worker ${sub}`);
        const n = count(w[2], `worker ${sub}`);
        return sub === "add" ? { kind: "worker-add", count: n } : { kind: "worker-remove", count: n };
      }
      if (sub === "kill") {
        noMore(w, 3, "worker kill");
        const pid = w[2];
        if (pid === undefined || !/^[0-9]+$/.test(pid) || Number(pid) < 1) throw new Error(`worker kill: PID must be a process id, got ${JSON.stringify(pid ?? "")}`);
        return { kind: "worker-kill", pid: Number(pid) };
      }
      throw new Error(`unknown command: worker ${sub ?? ""}`.trim() + " (worker add [N]|remove [N]|kill PID)");
    case "reload":
    case "reopen":
      noMore(w, 1, verb);
      return { kind: verb };
    case "shutdown": {
      const mode = sub ?? "graceful";
      if (mode !== "graceful" && mode !== "quick") throw new Error(`unknown command: shutdown ${mode} (shutdown [graceful|quick])`);
      noMore(w, 2, "shutdown");
      return { kind: "shutdown", mode };
    }
    default:
      throw new Error(verb === undefined ? `no command given (${COMMAND_USAGE.join(", ")})` : `unknown command: ${w.join(" ")} (${COMMAND_USAGE.join(", ")})`);
  }
}

/** The words of a request's `command` (a string is split on whitespace). */
export function commandWords(command: unknown): string[] {
  if (typeof command === "string") return command.trim().split(/\s+/).filter(Boolean);
  if (Array.isArray(command) && command.every((x) => typeof x === "string" || typeof x === "number")) return command.map(String);
  throw new Error('the request must be a JSON object with "command": a string or an array of words');
}
