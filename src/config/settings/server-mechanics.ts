/** @module Settings of the "Server Mechanics" section. */
import { ConfigError, defineSetting } from "../setting.ts";
import * as v from "../validators.ts";

/** Gunicorn's default `secure_scheme_headers`. */
const DEFAULT_SECURE_SCHEME_HEADERS: Record<string, string> = {
  "X-FORWARDED-PROTOCOL": "ssl",
  "X-FORWARDED-PROTO": "https",
  "X-FORWARDED-SSL": "on",
};

const ENGINE_ONLY = "Honoured by bunicorn's HTTP engine (shared-socket mode).";

/** A Gunicorn parser switch (off by default) that only bunicorn's own HTTP engine can honour. */
function parserSwitch<const N extends string>(name: N, flag: string, description: string, bunNote = ENGINE_ONLY) {
  return defineSetting({
    name,
    section: "Server Mechanics",
    cli: [flag],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "worker",
    support: "translated",
    bunNote,
    description,
  });
}

export const serverMechanicsSettings = [
  defineSetting({
    name: "preload_app",
    section: "Server Mechanics",
    cli: ["--preload"],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "arbiter",
    support: "translated",
    bunNote:
      "Bun has no `fork`, so there is no copy-on-write sharing: the arbiter imports the app once at start to fail fast on a broken app (exit 4) before any worker is spawned, and each worker still imports it. No RAM is saved.",
    description: `Load application code before the worker processes are started.

With Gunicorn this saves RAM through copy-on-write; on Bun it validates the app in the arbiter
before workers start, so a broken app stops the server at once.`,
  }),
  defineSetting({
    name: "sendfile",
    section: "Server Mechanics",
    cli: ["--no-sendfile"],
    action: "store_false",
    default: (env = process.env) => (env.SENDFILE === undefined ? null : v.bool(env.SENDFILE, "SENDFILE")) as boolean | null,
    defaultDoc: "`null` (the `SENDFILE` environment variable, else enabled)",
    validate: v.optionalBool,
    scope: "worker",
    support: "translated",
    bunNote:
      "A `Bun.file(...)` response body goes out with `sendfile(2)` in every mode (Bun.serve's own in reuse-port mode, bunicorn's engine through `bun:ffi` in shared-socket mode). When disabled, the file is read through user space: with a `Content-Length` in shared-socket mode, chunked under Bun.serve (which sends even `blob.stream()` with sendfile, so the file is wrapped in a JavaScript stream).",
    description: `Disables the use of \`sendfile()\`.

If not set, the value of the \`SENDFILE\` environment variable is used to enable or disable its
usage.`,
  }),
  defineSetting({
    name: "reuse_port",
    section: "Server Mechanics",
    cli: ["--reuse-port"],
    cliNegative: ["--no-reuse-port"],
    action: "store_true",
    default: () => null as boolean | null,
    defaultDoc: "`null` (automatic: reuse-port mode for TCP binds)",
    validate: v.optionalBool,
    scope: "arbiter",
    support: "translated",
    bunNote:
      "Chooses the listening mode. `true`: every worker binds its own `SO_REUSEPORT` socket and serves it with Bun.serve (TCP only). `false` (`--no-reuse-port`): the arbiter owns the sockets and workers serve them with bunicorn's HTTP engine. Unset: reuse-port for TCP unless a shared-socket-only feature is asked for (unix/fd binds, PROXY protocol, non-default parser limits).",
    description: "Set the `SO_REUSEPORT` flag on the listening socket.",
  }),
  defineSetting({
    name: "chdir",
    section: "Server Mechanics",
    cli: ["--chdir"],
    meta: "DIR",
    default: () => process.cwd(),
    defaultDoc: "`'.'`",
    validate: v.existingDir,
    scope: "both",
    support: "supported",
    description: "Change directory to specified directory before loading apps.",
  }),
  defineSetting({
    name: "daemon",
    section: "Server Mechanics",
    cli: ["-D", "--daemon"],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "arbiter",
    support: "translated",
    bunNote: "The launcher re-spawns itself detached (`setsid`, stdio on /dev/null) and exits, since Bun has no `fork`.",
    description: `Daemonize the bunicorn process.

Detaches the server from the controlling terminal and enters the background.`,
  }),
  defineSetting({
    name: "raw_env",
    section: "Server Mechanics",
    cli: ["-e", "--env"],
    meta: "ENV",
    action: "append",
    default: () => [] as string[],
    validate: (x, name) => {
      const list = v.stringList(x, name);
      for (const item of list) {
        if (!/^[^=]+=/.test(item)) throw new ConfigError(`Invalid value for ${name}: ${JSON.stringify(item)} (expected KEY=VALUE)`);
      }
      return list;
    },
    scope: "both",
    support: "supported",
    description: `Set environment variables in the execution environment.

Should be a list of strings in the \`key=value\` format. For example on the command line
\`bunicorn -b 127.0.0.1:8000 --env FOO=1 app.ts\`, or in the configuration file
\`export const raw_env = ["FOO=1"]\`.`,
  }),
  defineSetting({
    name: "pidfile",
    section: "Server Mechanics",
    cli: ["-p", "--pid"],
    meta: "FILE",
    default: () => null as string | null,
    validate: v.optionalPath,
    scope: "arbiter",
    support: "supported",
    description: "A filename to use for the PID file.\n\nIf not set, no PID file will be written.",
  }),
  defineSetting({
    name: "worker_tmp_dir",
    section: "Server Mechanics",
    cli: ["--worker-tmp-dir"],
    meta: "DIR",
    default: () => null as string | null,
    validate: v.optionalDir,
    scope: "worker",
    support: "accepted",
    bunNote:
      "Workers heartbeat over their IPC channel, not through a temporary file, so no file is written (and nothing can block in `fchmod`). The directory is validated and otherwise unused.",
    description: "A directory to use for the worker heartbeat temporary file.",
  }),
  defineSetting({
    name: "user",
    section: "Server Mechanics",
    cli: ["-u", "--user"],
    meta: "USER",
    default: () => null as string | number | null,
    defaultDoc: "`null` (the arbiter's user)",
    validate: v.userOrId,
    scope: "worker",
    support: "supported",
    description: `Switch worker processes to run as this user.

A valid user id (as an integer) or the name of a user that can be retrieved from the system's
user database, or \`null\` to not change the worker process user. Sockets are bound first, then
workers drop privileges.`,
  }),
  defineSetting({
    name: "group",
    section: "Server Mechanics",
    cli: ["-g", "--group"],
    meta: "GROUP",
    default: () => null as string | number | null,
    defaultDoc: "`null` (the arbiter's group)",
    validate: v.userOrId,
    scope: "worker",
    support: "supported",
    description: `Switch worker process to run as this group.

A valid group id (as an integer) or the name of a group, or \`null\` to not change the worker
processes group.`,
  }),
  defineSetting({
    name: "umask",
    section: "Server Mechanics",
    cli: ["-m", "--umask"],
    meta: "INT",
    default: () => 0,
    validate: v.umask,
    scope: "both",
    support: "supported",
    description: `A bit mask for the file mode on files written by bunicorn.

Note that this affects unix socket permissions. A valid value for \`process.umask()\` or a string
compatible with Python's \`int(value, 0)\` (\`0\`, \`0xFF\`, \`0022\`, \`0o22\` are valid for
decimal, hex, and octal representations).`,
  }),
  defineSetting({
    name: "initgroups",
    section: "Server Mechanics",
    cli: ["--initgroups"],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "worker",
    support: "supported",
    description: `If true, set the worker process's group access list with all of the groups of which
the specified username is a member, plus the specified group id.`,
  }),
  defineSetting({
    name: "tmp_upload_dir",
    section: "Server Mechanics",
    default: () => null as string | null,
    validate: v.optionalDir,
    scope: "worker",
    support: "accepted",
    bunNote: "Request bodies reach the app as a stream (`req.body`); nothing is spooled to disk, so the directory is unused.",
    description: "Directory to store temporary request data as they are read.",
  }),
  defineSetting({
    name: "secure_scheme_headers",
    section: "Server Mechanics",
    default: () => ({ ...DEFAULT_SECURE_SCHEME_HEADERS }),
    validate: v.stringDict,
    scope: "worker",
    support: "translated",
    bunNote:
      "The scheme of the app's `req.url` (WSGI's `wsgi.url_scheme`), in every mode: `https:` when a trusted peer sends a matching header, `http:` when it sends one that does not match (also over TLS), the listener's scheme when it sends none; headers from an untrusted peer are ignored. A repeated header counts with its combined value (`https, https` is not `https`): Bun's `Headers` join repeated headers, so reuse-port mode cannot see them apart, and the engine does the same. In reuse-port mode the URL is set on the request object: `req.url`, `new URL(req.url)` and `new Request(req)` see it, `req.clone()` does not.",
    description: `A dictionary containing headers and values that the front-end proxy uses to indicate
HTTPS requests. If the source IP is permitted by \`forwarded_allow_ips\`, and at least one request
header matches a key-value pair listed in this dictionary, then bunicorn makes \`req.url\` use the
\`https\` scheme, so your application can tell that the request is secure.

If the other headers listed in this dictionary are not present in the request, they will be
ignored, but if the other headers are present and do not match the provided values, then the
request will fail with a 400.

The dictionary maps header names (any case) to exact, case-sensitive values. Set it in a config
file or as JSON in \`BUNICORN_SECURE_SCHEME_HEADERS\`. It is important that your front-end proxy
ensures that the headers defined here can not be passed directly from the client.`,
  }),
  defineSetting({
    name: "forwarded_allow_ips",
    section: "Server Mechanics",
    cli: ["--forwarded-allow-ips"],
    meta: "STRING",
    default: (env = process.env) => v.addressList(env.FORWARDED_ALLOW_IPS ?? "127.0.0.1,::1", "FORWARDED_ALLOW_IPS"),
    defaultDoc: "`'127.0.0.1,::1'` (or `FORWARDED_ALLOW_IPS`)",
    validate: v.addressList,
    scope: "worker",
    support: "supported",
    bunNote:
      "Checked against the address `server.requestIP(req)` gives (with `--proxy-protocol`, the PROXY header's source; Gunicorn checks the socket's peer). It decides `secure_scheme_headers`, `forwarder_headers`, and what `clientAddress(req, server)` from `bunicorn/forwarded` believes of `X-Forwarded-For`. `requestIP()` and the access log's `%(h)s` stay the peer, as Gunicorn's `REMOTE_ADDR` (log the client with `%({x-forwarded-for}i)s`).",
    description: `Front-end's IPs from which allowed to handle set secure headers (comma separated).

Addresses and CIDR networks (\`192.168.0.0/16\`). Set to \`*\` to disable checking of front-end IPs.
By default, the value of the \`FORWARDED_ALLOW_IPS\` environment variable. If it is not defined,
the default is \`"127.0.0.1,::1"\`. Connections over a UNIX socket are always treated as allowed.`,
  }),
  defineSetting({
    name: "pythonpath",
    section: "Server Mechanics",
    cli: ["--pythonpath"],
    meta: "STRING",
    default: () => null as string | null,
    validate: v.notApplicable(v.optionalString, (x) => x === null, "Bun resolves modules from node_modules and tsconfig paths; set NODE_PATH instead"),
    scope: "both",
    support: "not-applicable",
    bunNote: "Bun resolves modules from `node_modules` and tsconfig `paths`; set `NODE_PATH` if you need extra directories.",
    description: "A comma-separated list of directories to add to the Python path.",
  }),
  defineSetting({
    name: "paste",
    section: "Server Mechanics",
    cli: ["--paste", "--paster"],
    meta: "STRING",
    default: () => null as string | null,
    validate: v.notApplicable(v.optionalString, (x) => x === null, "PasteDeploy is a Python library; give the app as APP_MODULE"),
    scope: "both",
    support: "not-applicable",
    bunNote: "PasteDeploy is a Python library; name the app with `APP_MODULE` or the `app` setting.",
    description: "Load a PasteDeploy config file.",
  }),
  defineSetting({
    name: "proxy_protocol",
    section: "Server Mechanics",
    cli: ["--proxy-protocol"],
    action: "store_true",
    default: () => false as boolean | "v1" | "v2" | "auto",
    validate: (x, name) => {
      if (typeof x === "string" && ["v1", "v2", "auto"].includes(x.trim().toLowerCase())) return x.trim().toLowerCase() as "v1" | "v2" | "auto";
      if (typeof x === "string" && x.trim().toLowerCase() === "off") return false;
      return v.bool(x, name);
    },
    scope: "worker",
    support: "translated",
    bunNote: "Honoured by bunicorn's HTTP engine, so setting it selects shared-socket mode. `true` (the flag) means `auto`: a v1 line or a v2 header, or plain HTTP without one; `v1`/`v2` require that header on every connection (400 otherwise). The header's source address is what the access log (`%(h)s`) and `requestIP()` report.",
    description: `Enable detect PROXY protocol (PROXY mode).

Allow using HTTP and Proxy together. It may be useful for work with stunnel as HTTPS frontend and
bunicorn as HTTP server, or behind HAProxy. A config file may also give \`"v1"\`, \`"v2"\` or
\`"auto"\`.`,
  }),
  defineSetting({
    name: "proxy_allow_ips",
    section: "Server Mechanics",
    cli: ["--proxy-allow-from"],
    meta: "STRING",
    default: () => ["127.0.0.1", "::1"],
    defaultDoc: "`'127.0.0.1,::1'`",
    validate: v.addressList,
    scope: "worker",
    support: "supported",
    description: `Front-end's IPs from which allowed accept proxy requests (comma separated).

Set to \`*\` to disable checking of front-end IPs. Connections over a UNIX socket are always
treated as allowed.`,
  }),
  defineSetting({
    name: "raw_paste_global_conf",
    section: "Server Mechanics",
    cli: ["--paste-global"],
    meta: "CONF",
    action: "append",
    default: () => [] as string[],
    validate: v.notApplicable(v.stringList, (x) => x.length === 0, "PasteDeploy is a Python library"),
    scope: "both",
    support: "not-applicable",
    bunNote: "PasteDeploy is a Python library.",
    description: "Set a PasteDeploy global config variable in `key=value` form.",
  }),
  parserSwitch("permit_obsolete_folding", "--permit-obsolete-folding", "Permit requests employing obsolete HTTP line folding mechanism.", "Honoured by bunicorn's HTTP engine (shared-socket mode); Bun.serve always rejects folding."),
  parserSwitch("strip_header_spaces", "--strip-header-spaces", "Strip spaces present between the header name and the `:`. Known to induce vulnerabilities.", "Honoured by bunicorn's HTTP engine (shared-socket mode); Bun.serve always rejects such headers."),
  parserSwitch(
    "permit_unconventional_http_method",
    "--permit-unconventional-http-method",
    "Permit HTTP methods not matching conventions, such as IANA registration guidelines.",
    `${ENGINE_ONLY} A method a Bun \`Request\` cannot carry (any but Bun's 35, a lower-case one included unless \`casefold_http_method\`) is still answered with a plain 501, with or without this switch: Bun 1.4.4's \`Request\` would turn it into \`GET\`.`,
  ),
  parserSwitch("permit_unconventional_http_version", "--permit-unconventional-http-version", "Permit HTTP version not matching conventions of 2023."),
  parserSwitch("casefold_http_method", "--casefold-http-method", "Transform received HTTP methods to uppercase."),
  defineSetting({
    name: "forwarder_headers",
    section: "Server Mechanics",
    cli: ["--forwarder-headers"],
    meta: "STRING",
    default: () => ["SCRIPT_NAME", "PATH_INFO"],
    defaultDoc: "`'SCRIPT_NAME,PATH_INFO'`",
    validate: v.stringList,
    scope: "worker",
    support: "translated",
    bunNote:
      "Header names with `_` that a trusted peer may send whatever `header_map` says; they reach the app in `req.headers` (lower-cased, as every name). `scriptName(req, server)` from `bunicorn/forwarded` returns a trusted `SCRIPT_NAME` (else the `SCRIPT_NAME` environment variable, else `\"\"`); `req.url` keeps the whole path. Names are compared in any case; `*` allows every name.",
    description: `A list containing upper-case header field names that the front-end proxy (see
\`forwarded_allow_ips\`) sets, to be used by the application.

This option has no effect for headers not present in the request. It can be used to transfer
\`SCRIPT_NAME\`, \`PATH_INFO\` and \`REMOTE_USER\`. It is important that your front-end proxy
configuration ensures that the headers defined here can not be passed directly from the client.`,
  }),
  defineSetting({
    name: "header_map",
    section: "Server Mechanics",
    cli: ["--header-map"],
    meta: "STRING",
    default: () => "drop" as "drop" | "refuse" | "dangerous",
    validate: v.oneOf(["drop", "refuse", "dangerous"] as const),
    scope: "worker",
    support: "supported",
    bunNote:
      "In every mode. The engine notes `_` while parsing (free); reuse-port mode looks at the names Bun.serve parsed once per request (about 1 µs; not with `dangerous`) and deletes dropped names from `req.headers`. `refuse` is a plain 400 (logged, connection closed). A `Content_Length` or `Transfer_Encoding` never frames a request in either parser, whatever this says: it is an ordinary header name to Bun.serve and to the engine. A fetch `Request` keeps each name apart (`x-a_b` is not `x-a-b`), but a proxy or app that maps names as CGI does would merge them, hence the default.",
    description: `Configure how header field names containing an underscore are handled.

Headers containing underscores are permitted by RFC 9110, but anything that maps header names onto
CGI/WSGI-style variables (\`HTTP_X_A_B\`) confuses \`X-A_B\` with \`X-A-B\`, and applications and
proxies may be fooled as to which is which.

The safe default \`drop\` is to silently drop headers that cannot be unambiguously mapped. The value
\`refuse\` will return an error (400) if a request contains *any* such header. The value
\`dangerous\` passes them to the application.

If the source is permitted as explained in \`forwarded_allow_ips\`, *and* the header name is present
in \`forwarder_headers\`, the header is passed regardless of the state of this setting.`,
  }),
  defineSetting({
    name: "http_protocols",
    section: "Server Mechanics",
    cli: ["--http-protocols"],
    meta: "STRING",
    default: () => ["h1"] as ("h1" | "h2" | "h3")[],
    defaultDoc: "`'h1'`",
    validate: v.httpProtocols,
    scope: "worker",
    support: "translated",
    bunNote:
      "Gunicorn 25 lists it in its \"HTTP/2\" section. Reuse-port mode only (Bun.serve's experimental `http2`/`http3`): `h2` is HTTP/2 by ALPN with TLS, and by prior knowledge (h2c) without TLS, where Gunicorn needs `http2_cleartext`; `h3` is HTTP/3 over QUIC (UDP, same port number) and needs TLS; a list without `h1` refuses HTTP/1.x clients; the order has no effect (Bun chooses). Shared-socket mode (`unix:`, `fd://`, systemd, `--no-reuse-port`) serves HTTP/1.x only: `h2` or `h3` there is refused at start. An HTTP/2 request is logged with `%(H)s` `HTTP/1.1`: Bun.serve does not tell the app the protocol version.",
    description: `HTTP protocol versions to support (comma-separated, order = preference).

| value | protocol |
|---|---|
| \`h1\` | HTTP/1.1 (default) |
| \`h2\` | HTTP/2 (with TLS: negotiated by ALPN) |
| \`h3\` | HTTP/3 (QUIC; needs TLS) |

Examples: \`--http-protocols h2,h1\` (HTTP/2 for clients that offer it, HTTP/1.1 for the rest),
\`--http-protocols h2\` (HTTP/2 only: HTTP/1.1 clients are refused).`,
  }),
] as const;
