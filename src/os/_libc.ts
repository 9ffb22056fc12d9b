/** Temporary: src/http still imports the old private name. Everything else imports `./index.ts`. */
export * from "./libc.ts";
