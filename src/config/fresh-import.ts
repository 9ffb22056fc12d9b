/**
 * @module
 * @internal Imports a module file anew: Bun keeps every imported module for the life of the
 * process, so a config file (or a `logconfig` module) changed before a HUP would otherwise be
 * read as it was at start. Only the file itself runs again (its own imports stay cached), as
 * Gunicorn executes its config file again on HUP.
 */

/** `import(path)` after dropping the cached copy of `path` (an absolute file path). */
export async function importFresh(path: string): Promise<Record<string, unknown>> {
  delete require.cache[path];
  return (await import(Bun.pathToFileURL(path).href)) as Record<string, unknown>;
}
