/**
 * @module
 * A statsd client: metrics go out over UDP (or a unix datagram socket for `unix://PATH`),
 * batched into packets of up to 1400 bytes on the next turn of the event loop, so a slow or
 * absent collector never holds a request up. `dogstatsd_tags` are appended as `|#tags`.
 */
import dgram from "node:dgram";
import net from "node:net";
import { UnixDatagramSender } from "../net/unix-dgram.ts";

const MAX_PACKET = 1400;

export class StatsdClient {
  private queue: string[] = [];
  private scheduled = false;
  private readonly sendPacket: (data: Buffer) => void;
  private readonly closeFn: () => void;
  private readonly suffix: string;

  constructor(
    address: string,
    readonly prefix = "",
    tags = "",
  ) {
    this.suffix = tags.trim() ? `|#${tags.trim()}` : "";
    if (address.startsWith("unix://")) {
      const sender = new UnixDatagramSender(address.slice(7));
      this.sendPacket = (data) => {
        try {
          sender.send(data);
        } catch {}
      };
      this.closeFn = () => sender.close();
    } else {
      const i = address.lastIndexOf(":");
      const host = address.slice(0, i).replace(/^\[|\]$/g, "");
      const port = Number(address.slice(i + 1));
      const sock = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
      sock.on("error", () => {});
      sock.unref();
      this.sendPacket = (data) => sock.send(data, port, host, () => {});
      this.closeFn = () => sock.close();
    }
  }

  private push(metric: string): void {
    this.queue.push(`${this.prefix}${metric}${this.suffix}`);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends everything queued, several metrics per packet. */
  flush(): void {
    this.scheduled = false;
    let packet = "";
    for (const m of this.queue) {
      if (packet && packet.length + 1 + m.length > MAX_PACKET) {
        this.sendPacket(Buffer.from(packet));
        packet = "";
      }
      packet = packet ? `${packet}\n${m}` : m;
    }
    if (packet) this.sendPacket(Buffer.from(packet));
    this.queue = [];
  }

  gauge(name: string, value: number): void {
    this.push(`${name}:${value}|g`);
  }
  increment(name: string, value = 1, rate = 1): void {
    this.push(`${name}:${value}|c${rate < 1 ? `|@${rate}` : ""}`);
  }
  decrement(name: string, value = 1): void {
    this.push(`${name}:-${value}|c`);
  }
  histogram(name: string, ms: number): void {
    this.push(`${name}:${Math.round(ms * 1000) / 1000}|ms`);
  }

  close(): void {
    this.flush();
    try {
      this.closeFn();
    } catch {}
  }
}

/** Gunicorn's prefix rule: a trailing `.` is added when missing. */
export function statsdPrefix(prefix: string): string {
  return prefix === "" || prefix.endsWith(".") ? prefix : `${prefix}.`;
}
