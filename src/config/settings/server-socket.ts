/** @module Settings of the "Server Socket" section. */
import { defineSetting } from "../setting.ts";
import * as v from "../validators.ts";

export const serverSocketSettings = [
  defineSetting({
    name: "bind",
    section: "Server Socket",
    cli: ["-b", "--bind"],
    meta: "ADDRESS",
    action: "append",
    default: (env = process.env) => (env.PORT ? [`0.0.0.0:${env.PORT}`] : ["127.0.0.1:8000"]),
    defaultDoc: "`['127.0.0.1:8000']` (or `['0.0.0.0:$PORT']` when `PORT` is set)",
    validate: (x, name) => {
      const list = v.stringList(x, name);
      if (list.length === 0) return v.stringList(["127.0.0.1:8000"], name);
      return list;
    },
    scope: "arbiter",
    support: "supported",
    description: `The socket to bind.

A string of the form: \`HOST\`, \`HOST:PORT\`, \`[v6]:PORT\`, \`unix:PATH\`, \`fd://FD\`. An IP is a
valid HOST. Multiple addresses can be bound, e.g.
\`bunicorn -b 127.0.0.1:8000 -b [::1]:8000 app.ts\` binds the app on localhost both on IPv6 and
IPv4 interfaces.

If the \`PORT\` environment variable is defined, the default is \`['0.0.0.0:$PORT']\`. If it is not
defined, the default is \`['127.0.0.1:8000']\`.`,
  }),
  defineSetting({
    name: "backlog",
    section: "Server Socket",
    cli: ["--backlog"],
    meta: "INT",
    default: () => 2048,
    validate: v.positiveInt,
    scope: "arbiter",
    support: "translated",
    bunNote: "Applied to the sockets the arbiter owns (shared-socket mode). Bun.serve always listens with a backlog of 512, so reuse-port mode cannot honour it.",
    description: `The maximum number of pending connections.

This refers to the number of clients that can be waiting to be served. Exceeding this number
results in the client getting an error when attempting to connect. It should only affect servers
under significant load. Must be a positive integer. Generally set in the 64-2048 range.`,
  }),
] as const;
