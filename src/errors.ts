/**
 * @module
 * @internal Error helpers shared by the arbiter and the workers. Kept free of imports so that a
 * worker can use them without loading the settings registry.
 */

/** The first line of an error's message, for one-line error reports. */
export function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split("\n").find((l) => l.trim() !== "") ?? msg).trim();
}
