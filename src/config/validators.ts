/**
 * @module
 * Small pure validators, one per kind of value (Gunicorn's `validate_*` functions). Each takes
 * a raw value from any source (a string from the command line or the environment, or a typed
 * value from a config file) and returns the normalised value or throws a `ConfigError` whose
 * message names the setting.
 */
// The module itself, not ../net/index.ts: that one also loads the raw-socket and systemd code.
import { isIpOrNetwork } from "../net/ip.ts";
import { ConfigError, type Validator } from "./setting.ts";

function fail(name: string, value: unknown, expected: string): never {
  throw new ConfigError(`Invalid value for ${name}: ${show(value)} (${expected})`);
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Parses an integer like Python's `int(x, 0)`: `10`, `0x1F`, `0o22`, `022` (octal), `0b11`. */
export function parseIntLiteral(raw: string): number | null {
  const s = raw.trim().replace(/_/g, "");
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]+|0|[1-9][0-9]*)$/.exec(s);
  if (!m) return null;
  const sign = m[1] === "-" ? -1 : 1;
  const body = m[2]!;
  let n: number;
  if (/^0[xXoObB]/.test(body)) n = Number(body.toLowerCase());
  else if (body.length > 1 && body.startsWith("0")) n = parseInt(body.slice(1), 8);
  else n = Number(body);
  return Number.isSafeInteger(n) ? sign * n : null;
}

export const string: Validator<string> = (v, name) => {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return fail(name, v, "expected a string");
};

export const optionalString: Validator<string | null> = (v, name) =>
  v === null || v === undefined ? null : string(v, name);

/** A non-empty string or null (file paths and the like). */
export const optionalPath: Validator<string | null> = (v, name) => {
  const s = optionalString(v, name);
  if (s === "") fail(name, v, "expected a non-empty path");
  return s;
};

export const bool: Validator<boolean> = (v, name) => {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(s)) return true;
    if (["false", "0", "no", "off", ""].includes(s)) return false;
  }
  if (v === 1) return true;
  if (v === 0) return false;
  return fail(name, v, "expected true or false");
};

/** A boolean that may also be unset (null): `sendfile` follows `SENDFILE` when unset. */
export const optionalBool: Validator<boolean | null> = (v, name) =>
  v === null || v === undefined ? null : bool(v, name);

function integer(v: unknown, name: string): number {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) fail(name, v, "expected an integer");
    return v;
  }
  if (typeof v === "string") {
    const n = parseIntLiteral(v);
    if (n === null) fail(name, v, "expected an integer");
    return n;
  }
  return fail(name, v, "expected an integer");
}

/** An integer >= 0 (Gunicorn's `validate_pos_int`, which also accepts 0). */
export const posInt: Validator<number> = (v, name) => {
  const n = integer(v, name);
  if (n < 0) fail(name, v, "expected an integer >= 0");
  return n;
};

/** An integer >= 1. */
export const positiveInt: Validator<number> = (v, name) => {
  const n = integer(v, name);
  if (n < 1) fail(name, v, "expected an integer >= 1");
  return n;
};

/** An integer within [min, max]. */
export function intRange(min: number, max: number): Validator<number> {
  return (v, name) => {
    const n = integer(v, name);
    if (n < min || n > max) fail(name, v, `expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** A number of seconds >= 0 (fractions allowed, as Python accepts floats here too). */
export const seconds: Validator<number> = (v, name) => {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) fail(name, v, "expected a number of seconds >= 0");
  return n;
};

/** A list of strings. From a string: a JSON array, or comma-separated items. */
export const stringList: Validator<string[]> = (v, name) => {
  if (v === null || v === undefined) return [];
  if (typeof v === "string") {
    const s = v.trim();
    if (s.startsWith("[")) {
      try {
        return stringList(JSON.parse(s), name);
      } catch (e) {
        if (e instanceof ConfigError) throw e;
        fail(name, v, "expected a JSON array of strings or comma-separated values");
      }
    }
    return s === "" ? [] : s.split(",").map((x) => x.trim()).filter((x) => x !== "");
  }
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return [...v];
  return fail(name, v, "expected a list of strings");
};

/** Parses a JSON object given as a string; other values pass through. */
function fromJson(v: unknown, name: string): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return fail(name, v, "expected a JSON object");
  }
}

/** A plain object of string values. From a string: JSON. */
export function stringDict(v: unknown, name: string): Record<string, string> {
  const obj = fromJson(v, name);
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) fail(name, v, "expected an object");
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj as Record<string, unknown>)) {
    if (typeof val !== "string") fail(name, v, `expected string values, ${k} is ${show(val)}`);
    out[k] = val;
  }
  return out;
}

/** Any plain object (logconfig_dict). From a string: JSON. */
export const dict: Validator<Record<string, unknown>> = (v, name) => {
  const obj = fromJson(v, name);
  if (obj === null || obj === undefined) return {};
  if (typeof obj !== "object" || Array.isArray(obj)) fail(name, v, "expected an object");
  return obj as Record<string, unknown>;
};

/** One of a fixed set of strings (case-insensitive input, canonical output). */
export function oneOf<const T extends string>(choices: readonly T[]): Validator<T> {
  return (v, name) => {
    if (typeof v === "string") {
      const hit = choices.find((c) => c.toLowerCase() === v.trim().toLowerCase());
      if (hit) return hit;
    }
    return fail(name, v, `expected one of: ${choices.join(", ")}`);
  };
}

/** A file mode mask such as `0o22`, `022`, `18` (Gunicorn parses with `int(x, 0)`). */
export const umask: Validator<number> = (v, name) => {
  const n = integer(v, name);
  if (n < 0 || n > 0o777) fail(name, v, "expected a mode from 0 to 0o777");
  return n;
};

/**
 * A comma-separated list of IPs or CIDR networks, or `*`. Checked with the parser the
 * `proxy_allow_ips` matcher uses, so a list accepted here never fails in a worker.
 */
export const addressList: Validator<string[]> = (v, name) => {
  const items = stringList(v, name);
  for (const item of items) {
    if (item === "*") continue;
    if (!isIpOrNetwork(item)) fail(name, v, `${JSON.stringify(item)} is not an IP address or network`);
  }
  return items;
};

/** A function of the given arity at most (hooks), or a `module#export` reference to one. */
export function hook<F>(maxArity: number): Validator<F | null> {
  return (v, name) => {
    if (v === null || v === undefined) return null;
    if (typeof v === "function") {
      if (v.length > maxArity) fail(name, v, `a hook taking at most ${maxArity} argument(s), this one takes ${v.length}`);
      return v as F;
    }
    if (typeof v === "string" && /^.+#[A-Za-z_$][\w$]*$/.test(v)) return v as unknown as F;
    return fail(name, v, "expected a function, or a string PATH#EXPORT");
  };
}

/** `user`: a name or numeric uid; validated against /etc/passwd when the worker drops privileges. */
export const userOrId: Validator<string | number | null> = (v, name) => {
  if (v === null || v === undefined || v === "") return null;
  if (typeof v === "number") return posInt(v, name);
  if (typeof v === "string") return /^\d+$/.test(v) ? Number(v) : v;
  return fail(name, v, "expected a user name or a numeric id");
};

/** `syslog_addr`: `udp://HOST:PORT`, `tcp://HOST:PORT` or `unix://PATH[#stream|#dgram]`. */
export const syslogAddress: Validator<string> = (v, name) => {
  const s = string(v, name);
  if (/^unix:\/\/[^#]+(#(stream|dgram))?$/.test(s)) return s;
  if (/^(udp|tcp):\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s]+)(:\d{1,5})?$/.test(s)) return s;
  return fail(name, v, "expected udp://HOST:PORT, tcp://HOST:PORT or unix://PATH#stream|dgram");
};

/** `statsd_host`: `HOST:PORT` or `unix://PATH`. */
export const statsdAddress: Validator<string | null> = (v, name) => {
  const s = optionalString(v, name);
  if (s === null || s === "") return null;
  if (/^unix:\/\/.+$/.test(s)) return s;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(s);
  if (m && Number(m[2]) <= 65535) return s;
  return fail(name, v, "expected HOST:PORT or unix://PATH");
};

/** An existing file (certfile, keyfile, ca_certs), checked when set. */
export const existingFile: Validator<string | null> = (v, name) => {
  const s = optionalPath(v, name);
  if (s === null) return null;
  const stat = statSafe(s);
  if (!stat || !stat.isFile()) fail(name, v, "no such file");
  return s;
};

/** An existing directory (chdir, worker_tmp_dir). */
export const existingDir: Validator<string> = (v, name) => {
  const s = string(v, name);
  const stat = statSafe(s);
  if (!stat || !stat.isDirectory()) fail(name, v, "no such directory");
  return s;
};

export const optionalDir: Validator<string | null> = (v, name) =>
  v === null || v === undefined || v === "" ? null : existingDir(v, name);

import { statSync, type Stats } from "node:fs";
function statSafe(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** A worker or logger class reference: a built-in name, `egg:pkg#name`, `PATH#Export`, or a class. */
export const classRef: Validator<string | Function> = (v, name) => {
  if (typeof v === "function") return v;
  if (typeof v === "string" && v.trim() !== "") return v.trim();
  return fail(name, v, "expected a class name, egg:PACKAGE#NAME, PATH#EXPORT or a class");
};

/** Settings that Bun cannot honour: any value other than the default is refused with the reason. */
export function notApplicable<T>(inner: Validator<T>, isDefault: (v: T) => boolean, reason: string): Validator<T> {
  return (v, name) => {
    const value = inner(v, name);
    if (!isDefault(value)) throw new ConfigError(`Setting ${name} is not applicable on Bun: ${reason}`);
    return value;
  };
}

/** `http_protocols`: `h1`, `h2`, `h3` (any case), comma-separated or a list, no repeats; empty means `h1`. */
export const httpProtocols: Validator<("h1" | "h2" | "h3")[]> = (v, name) => {
  const items = stringList(v, name).map((p) => p.toLowerCase());
  if (items.length === 0) return ["h1"];
  for (const p of items) if (p !== "h1" && p !== "h2" && p !== "h3") fail(name, v, `${JSON.stringify(p)} is not one of h1, h2, h3`);
  if (new Set(items).size !== items.length) fail(name, v, "a protocol is listed twice");
  return items as ("h1" | "h2" | "h3")[];
};
