/** @module Settings of the "Logging" section. */
import { defineSetting } from "../setting.ts";
import * as v from "../validators.ts";

/** Gunicorn's default access-log format (Apache "combined" style). */
const DEFAULT_ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"';

/** Syslog facility names (Python's `SysLogHandler.facility_names`). */
const SYSLOG_FACILITIES = [
  "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news", "security", "syslog",
  "user", "uucp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
] as const;

export const loggingSettings = [
  defineSetting({
    name: "accesslog",
    section: "Logging",
    cli: ["--access-logfile"],
    meta: "FILE",
    default: () => null as string | null,
    validate: v.optionalPath,
    scope: "worker",
    support: "supported",
    description: "The Access log file to write to.\n\n`-` means log to stdout.",
  }),
  defineSetting({
    name: "disable_redirect_access_to_syslog",
    section: "Logging",
    cli: ["--disable-redirect-access-to-syslog"],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "worker",
    support: "supported",
    description: "Disable redirect access logs to syslog.",
  }),
  defineSetting({
    name: "access_log_format",
    section: "Logging",
    cli: ["--access-logformat"],
    meta: "STRING",
    default: () => DEFAULT_ACCESS_LOG_FORMAT,
    validate: v.string,
    scope: "worker",
    support: "supported",
    description: `The access log format.

| Identifier | Description |
|---|---|
| h | remote address |
| l | \`-\` |
| u | user name (if HTTP Basic auth used) |
| t | date of the request |
| r | status line (e.g. \`GET / HTTP/1.1\`) |
| m | request method |
| U | URL path without query string |
| q | query string |
| H | protocol |
| s | status |
| B | response length |
| b | response length or \`-\` (CLF format) |
| f | referrer (note: header is \`referer\`) |
| a | user agent |
| T | request time in seconds |
| M | request time in milliseconds |
| D | request time in microseconds |
| L | request time in decimal seconds |
| p | process ID |
| {header}i | request header |
| {header}o | response header |
| {variable}e | environment variable |

Use lowercase for header and environment variable names, and put \`{...}x\` names inside
\`%(...)s\`. For example: \`%({x-forwarded-for}i)s\`.`,
  }),
  defineSetting({
    name: "errorlog",
    section: "Logging",
    cli: ["--error-logfile", "--log-file"],
    meta: "FILE",
    default: () => "-",
    validate: v.string,
    scope: "both",
    support: "supported",
    description: "The Error log file to write to.\n\nUsing `-` for FILE makes bunicorn log to stderr.",
  }),
  defineSetting({
    name: "loglevel",
    section: "Logging",
    cli: ["--log-level"],
    meta: "LEVEL",
    default: () => "info" as "debug" | "info" | "warning" | "error" | "critical",
    validate: v.oneOf(["debug", "info", "warning", "error", "critical"] as const),
    scope: "both",
    support: "supported",
    description: "The granularity of Error log outputs.\n\nValid level names are `debug`, `info`, `warning`, `error` and `critical`.",
  }),
  defineSetting({
    name: "capture_output",
    section: "Logging",
    cli: ["--capture-output"],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "both",
    support: "translated",
    bunNote: "Workers are spawned with the error log file as their stdout and stderr; on USR1 each worker opens it again and `dup2`s it onto fds 1 and 2 (through `bun:ffi`), as Gunicorn does.",
    description: "Redirect stdout/stderr to specified file in errorlog.",
  }),
  defineSetting({
    name: "logger_class",
    section: "Logging",
    cli: ["--logger-class"],
    meta: "STRING",
    default: () => "default" as string | Function,
    validate: v.classRef,
    scope: "both",
    support: "translated",
    bunNote:
      "Built-in names are `default` (also `simple`, `gunicorn.glogging.Logger`) and `statsd`; otherwise `egg:PACKAGE#NAME` or `PATH#EXPORT`, as for worker classes.",
    description: `The logger you want to use to log events in bunicorn.

The default class handles most normal usages in logging. It provides error and access logging.
You can provide your own logger class by plugin name (\`egg:my-package#name\`) or module path
(\`./my-logger.ts#MyLogger\`); it should extend the \`Logger\` class exported by bunicorn. When
\`statsd_host\` is set, the default logger becomes the \`statsd\` logger.`,
  }),
  defineSetting({
    name: "logconfig",
    section: "Logging",
    cli: ["--log-config"],
    meta: "FILE",
    default: () => null as string | null,
    validate: v.optionalPath,
    scope: "both",
    support: "translated",
    bunNote: "A JSON or TypeScript module in bunicorn's logging schema (docs/logging.md), not a Python `fileConfig` INI file.",
    description: "The log config file to use (JSON, `.ts` or `.js`, in bunicorn's logging schema).",
  }),
  defineSetting({
    name: "logconfig_dict",
    section: "Logging",
    default: () => ({}) as Record<string, unknown>,
    validate: v.dict,
    scope: "both",
    support: "translated",
    bunNote: "An object in bunicorn's logging schema (levels, targets, formats) instead of Python's `dictConfig`.",
    description: `The log config object to use. This option takes precedence over the \`logconfig\`
and \`logconfig_json\` options.`,
  }),
  defineSetting({
    name: "logconfig_json",
    section: "Logging",
    cli: ["--log-config-json"],
    meta: "FILE",
    default: () => null as string | null,
    validate: v.optionalPath,
    scope: "both",
    support: "translated",
    bunNote: "A JSON file in bunicorn's logging schema.",
    description: "The log config to read config from a JSON file.",
  }),
  defineSetting({
    name: "syslog_addr",
    section: "Logging",
    cli: ["--log-syslog-to"],
    meta: "SYSLOG_ADDR",
    default: () => "udp://localhost:514",
    validate: v.syslogAddress,
    scope: "both",
    support: "supported",
    description: `Address to send syslog messages.

Address is a string of the form:
- \`unix://PATH#TYPE\`: for unix domain socket. TYPE can be \`stream\` for the stream driver or
  \`dgram\` for the dgram driver. \`stream\` is the default.
- \`udp://HOST:PORT\`: for UDP sockets
- \`tcp://HOST:PORT\`: for TCP sockets`,
  }),
  defineSetting({
    name: "syslog",
    section: "Logging",
    cli: ["--log-syslog"],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "both",
    support: "supported",
    description: "Send bunicorn logs to syslog.",
  }),
  defineSetting({
    name: "syslog_prefix",
    section: "Logging",
    cli: ["--log-syslog-prefix"],
    meta: "SYSLOG_PREFIX",
    default: () => null as string | null,
    validate: v.optionalString,
    scope: "both",
    support: "supported",
    description: `Makes bunicorn use the parameter as program-name in the syslog entries.

All entries will be prefixed by \`bunicorn.<prefix>\`. By default the program name is the name of
the process.`,
  }),
  defineSetting({
    name: "syslog_facility",
    section: "Logging",
    cli: ["--log-syslog-facility"],
    meta: "SYSLOG_FACILITY",
    default: () => "user" as string,
    validate: v.oneOf(SYSLOG_FACILITIES),
    scope: "both",
    support: "supported",
    description: "Syslog facility name.",
  }),
  defineSetting({
    name: "enable_stdio_inheritance",
    section: "Logging",
    cli: ["-R", "--enable-stdio-inheritance"],
    action: "store_true",
    default: () => false,
    validate: v.bool,
    scope: "arbiter",
    support: "supported",
    description: "Enable stdio inheritance.\n\nEnable inheritance for stdio file descriptors in daemon mode.",
  }),
  defineSetting({
    name: "statsd_host",
    section: "Logging",
    cli: ["--statsd-host"],
    meta: "STATSD_ADDR",
    default: () => null as string | null,
    validate: v.statsdAddress,
    scope: "both",
    support: "supported",
    description: `The address of the StatsD server to log to.

Address is a string of the form \`unix://PATH\` (a unix domain socket) or \`HOST:PORT\` (a
network address).`,
  }),
  defineSetting({
    name: "dogstatsd_tags",
    section: "Logging",
    cli: ["--dogstatsd-tags"],
    meta: "DOGSTATSD_TAGS",
    default: () => "",
    validate: v.string,
    scope: "both",
    support: "supported",
    description: "A comma-delimited list of datadog statsd (dogstatsd) tags to append to statsd metrics.",
  }),
  defineSetting({
    name: "statsd_prefix",
    section: "Logging",
    cli: ["--statsd-prefix"],
    meta: "STATSD_PREFIX",
    default: () => "",
    validate: v.string,
    scope: "both",
    support: "supported",
    description: "Prefix to use when emitting statsd metrics (a trailing `.` is added, if not provided).",
  }),
] as const;
