/**
 * @module
 * @internal A buffered writer of complete lines to stdout, stderr or a file opened with
 * O_APPEND. Lines collect in memory and go out in one `write` at most 50 ms later (or at once
 * past 64 KiB), so the request path never waits on the disk and a busy worker makes ~20 writes
 * a second rather than one per event-loop turn; each write holds
 * only whole lines, so workers appending to one file never interleave mid-line. `flushSync()`
 * runs at exit, so nothing is lost on a graceful stop. `reopen()` is USR1 (logrotate's
 * move-then-signal).
 */
import { closeSync, openSync, writeSync } from "node:fs";

const FLUSH_AT = 64 * 1024;
/** How long a line may wait in memory. */
const FLUSH_AFTER_MS = 50;
const writers = new Set<LineWriter>();
let exitHooked = false;

export class LineWriter {
  private fd: number;
  /** Queued lines, newline-terminated (a string rope: appending is cheap in JSC). */
  private buf = "";
  private scheduled = false;

  /** `target`: `-` (the given std stream), `stdout`, `stderr`, or a file path. */
  constructor(
    readonly target: string,
    private readonly dash: 1 | 2 = 2,
  ) {
    this.fd = this.open();
    writers.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on("exit", () => {
        for (const w of writers) w.flushSync();
      });
    }
  }

  private open(): number {
    if (this.target === "-") return this.dash;
    if (this.target === "stdout" || this.target === "/dev/stdout") return 1;
    if (this.target === "stderr" || this.target === "/dev/stderr") return 2;
    return openSync(this.target, "a");
  }

  /** Queues one line (without its newline). */
  write(line: string): void {
    this.buf += `${line}\n`;
    if (this.buf.length >= FLUSH_AT) this.flushSync();
    else if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(() => this.flushSync(), FLUSH_AFTER_MS).unref();
    }
  }

  /** Writes everything queued now, as whole lines. */
  flushSync(): void {
    this.scheduled = false;
    const text = this.buf;
    if (text === "") return;
    this.buf = "";
    try {
      // One write of whole lines; a short write (a pipe) finishes with the rest as bytes.
      const n = writeSync(this.fd, text);
      const data = Buffer.byteLength(text) === n ? null : Buffer.from(text);
      let off = n;
      while (data !== null && off < data.length) off += writeSync(this.fd, data, off);
    } catch {
      // A log target that went away must not take the process down.
    }
  }

  /** Flushes, then reopens the file (after logrotate moved it). */
  reopen(): void {
    this.flushSync();
    if (this.fd <= 2) return;
    const old = this.fd;
    try {
      this.fd = this.open();
      closeSync(old);
    } catch {}
  }

  close(): void {
    this.flushSync();
    writers.delete(this);
    if (this.fd > 2) {
      try {
        closeSync(this.fd);
      } catch {}
    }
  }
}
