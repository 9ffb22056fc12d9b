/**
 * @module
 * Whether a server answers on a unix socket path: what the arbiter's own unix listeners
 * (`control_socket`, `metrics_bind unix:`) check before removing a socket file left at their path,
 * so that a stale file is replaced and a live server's is never taken.
 */

/** A live server answers on `path`: its connection is accepted, or not refused within a second. */
export async function unixPathAnswers(path: string): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const connected = Bun.connect({ unix: path, socket: { data() {}, connectError() {} } }).then((s) => {
      s.end();
      return true;
    });
    // A server that does not accept within a second (a full backlog) still holds the path.
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 1000)));
    return await Promise.race([connected, late]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
