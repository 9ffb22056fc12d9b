/**
 * @module
 * Bounded waits on child processes (the Bun executable, a promise with a deadline, a child's first
 * line of output), shared by the test/net and test/os tests.
 */
import type { Subprocess } from "bun";

/** Resolve with `p`, or reject after `ms` naming `what`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Read the first line a subprocess writes to its piped stdout, bounded by `ms`. */
export async function firstLine(proc: Subprocess<"ignore", "pipe", "inherit">, ms: number): Promise<string> {
  const reader = proc.stdout.getReader();
  const dec = new TextDecoder();
  let text = "";
  const read = async (): Promise<string> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`process ${proc.pid} closed stdout before a line (got ${JSON.stringify(text)})`);
      text += dec.decode(value);
      const nl = text.indexOf("\n");
      if (nl !== -1) return text.slice(0, nl);
    }
  };
  try {
    return await within(read(), ms, `first line from pid ${proc.pid}`);
  } finally {
    reader.releaseLock();
  }
}

export const BUN = process.execPath;
