/**
 * @module
 * A syslog transport for `syslog_addr`: `udp://HOST:PORT` (node:dgram), `tcp://HOST:PORT`
 * (node:net, one message per line), `unix://PATH#stream` (node:net) or `unix://PATH#dgram`
 * (bun:ffi; /dev/log is a datagram socket). Messages are RFC 3164 style, like Python's
 * `SysLogHandler` that Gunicorn uses: `<PRI>bunicorn.NAME.error: [pid] [LEVEL] message`.
 * Sending never blocks or throws: a dead collector only loses messages.
 */
import dgram from "node:dgram";
import net from "node:net";
import { UnixDatagramSender } from "../net/unix-dgram.ts";

/** Facility codes (Python's `SysLogHandler.facility_names`). */
export const FACILITY: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, security: 4, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20,
  local5: 21, local6: 22, local7: 23,
};

/** Severity codes for bunicorn's levels. */
const SEVERITY: Record<string, number> = { critical: 2, error: 3, warning: 4, info: 6, debug: 7 };

export class SyslogTransport {
  private send: (msg: string) => void;
  private closeFn: () => void = () => {};

  constructor(
    address: string,
    private readonly facility: number,
  ) {
    const m = /^(udp|tcp):\/\/(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(address);
    if (m) {
      const host = m[2]!.replace(/^\[|\]$/g, "");
      const port = Number(m[3] ?? 514);
      if (m[1] === "udp") {
        const sock = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
        sock.on("error", () => {});
        sock.unref();
        this.send = (msg) => sock.send(Buffer.from(msg), port, host, () => {});
        this.closeFn = () => sock.close();
      } else {
        this.send = this.stream(() => net.connect(port, host));
      }
      return;
    }
    const u = /^unix:\/\/([^#]+)(?:#(stream|dgram))?$/.exec(address);
    if (!u) throw new Error(`syslog_addr: unsupported address ${JSON.stringify(address)}`);
    if (u[2] === "dgram") {
      const sender = new UnixDatagramSender(u[1]!);
      this.send = (msg) => {
        try {
          sender.send(Buffer.from(msg));
        } catch {}
      };
      this.closeFn = () => sender.close();
    } else {
      this.send = this.stream(() => net.connect(u[1]!));
    }
  }

  /** A reconnecting stream connection; messages are newline-terminated. */
  private stream(connect: () => net.Socket): (msg: string) => void {
    let sock: net.Socket | null = null;
    let pending: string[] = [];
    const open = () => {
      const s = connect();
      sock = s;
      s.unref();
      s.on("connect", () => {
        for (const m of pending) s.write(m);
        pending = [];
      });
      s.on("error", () => {});
      s.on("close", () => {
        if (sock === s) sock = null;
      });
    };
    this.closeFn = () => sock?.end();
    return (msg) => {
      const line = `${msg}\n`;
      if (sock === null) open();
      if (sock!.connecting) {
        if (pending.length < 1000) pending.push(line);
      } else sock!.write(line);
    };
  }

  /** Sends one message at `level` with the program name `ident`. */
  log(level: string, ident: string, message: string): void {
    const pri = this.facility * 8 + (SEVERITY[level] ?? 6);
    try {
      this.send(`<${pri}>${ident}: ${message}`);
    } catch {}
  }

  close(): void {
    try {
      this.closeFn();
    } catch {}
  }
}
