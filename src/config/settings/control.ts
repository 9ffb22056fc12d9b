/**
 * @module The control socket's settings (Gunicorn 25's `control_socket` and
 * `control_socket_mode`), listed under "Server Mechanics".
 */
import { defineSetting } from "../setting.ts";
import * as v from "../validators.ts";

export const controlSettings = [
  defineSetting({
    name: "control_socket",
    section: "Server Mechanics",
    cli: ["--control-socket"],
    meta: "PATH",
    default: () => null as string | null,
    validate: v.optionalPath,
    scope: "arbiter",
    support: "translated",
    bunNote:
      "Off unless set (Gunicorn 25 creates one by default, which broke read-only containers). The arbiter serves it itself: one JSON request line, one JSON reply line (docs/design.md, \"Control socket\"); `bunicorn ctl` is its client. A stale socket file is removed at start; a path another live server answers on is refused with one `Error:` line. Removed at exit. After USR2 the new arbiter takes the path over once the old arbiter has exited.",
    description: `Unix socket path for the control interface.

\`bunicorn ctl --control-socket PATH COMMAND\` (or \`BUNICORN_CONTROL_SOCKET=PATH bunicorn ctl
COMMAND\`) talks to it: \`show all|workers|stats|config|listeners\`,
\`worker add [N]|remove [N]|kill PID\`, \`reload\`, \`reopen\`, \`shutdown [graceful|quick]\`.
Commands act as the matching signals do (TTIN, TTOU, HUP, USR1, TERM, QUIT), with the same log
lines and hooks, and answer from the arbiter's own worker table, so a stuck worker never
delays them.`,
  }),
  defineSetting({
    name: "control_socket_mode",
    section: "Server Mechanics",
    cli: ["--control-socket-mode"],
    meta: "INT",
    default: () => 0o600,
    defaultDoc: "`0o600`",
    validate: v.umask,
    scope: "arbiter",
    support: "supported",
    description: `Permission bits of the control socket file.

The socket is created with these bits (never wider, not even for an instant). The default
\`0o600\` lets only the server's user connect. Accepts \`int(value, 0)\` forms: \`0o660\`,
\`0660\`, \`432\`.`,
  }),
] as const;
