/**
 * @module
 * @internal The environment variables bunicorn reads or sets to talk to itself and to systemd,
 * named once. (Settings' own variables, `BUNICORN_<NAME>` and `BUNICORN_CMD_ARGS`, belong to
 * the config loader.) Import-free, so any process can use it at no cost.
 */

/** Set by the launcher: the path of the file holding its loaded config (`src/config/handoff.ts`). */
export const HANDOFF_ENV = "BUNICORN_CONFIG_HANDOFF";
/** Set in the re-executed arbiter's environment, so it does not re-execute itself again. */
export const TITLED_ENV = "BUNICORN_TITLED";
/** Set in the detached copy a `daemon` launcher starts, so that copy does not detach again. */
export const DAEMONIZED_ENV = "BUNICORN_DAEMONIZED";
/** Set by USR2 for the new arbiter: the old arbiter's pid. */
export const PARENT_ARBITER_ENV = "BUNICORN_PID";
/** Set by USR2 for the new arbiter: the inherited shared-socket fds, `3,4,...`. */
export const INHERITED_FDS_ENV = "BUNICORN_FD";

/** systemd socket activation: the number of sockets passed from fd 3 on. */
export const LISTEN_FDS_ENV = "LISTEN_FDS";
/** systemd socket activation: the pid the sockets are meant for. */
export const LISTEN_PID_ENV = "LISTEN_PID";
/** systemd socket activation: the sockets' names. */
export const LISTEN_FDNAMES_ENV = "LISTEN_FDNAMES";
/** systemd `sd_notify`: the service manager's datagram socket. */
export const NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET";
/** systemd's watchdog: the interval (µs) within which `WATCHDOG=1` must come. */
export const WATCHDOG_USEC_ENV = "WATCHDOG_USEC";
/** systemd's watchdog: the pid it watches (when unset, whoever holds `WATCHDOG_USEC`). */
export const WATCHDOG_PID_ENV = "WATCHDOG_PID";
