/**
 * @module
 * `bunicorn --help`: the usage, rendered from the registry's flags (`cli/args.ts`), one entry
 * per flag, with its description wrapped to the terminal's width (80 columns when stdout is not
 * a terminal; `COLUMNS` wins when set) and hanging under its own column, as argparse lays out
 * Gunicorn's help. Colour only on a terminal, and never with `NO_COLOR` or `TERM=dumb`.
 * Python-only settings are not listed (setting one is an error). Loaded only when help is asked
 * for (the registry costs the arbiter memory otherwise).
 */
import type { ArgDef } from "citty";
import { VERSION } from "../src/version.ts";
import { registryArgs } from "./args.ts";

/** Where descriptions start when the flag fits before it (argparse's `max_help_position`). */
const HELP_COLUMN = 32;

interface HelpStyle {
  width: number;
  color: boolean;
}

/** The width and colour for `out` (a stream with `isTTY`/`columns`, as process.stdout). */
export function helpStyle(out: { isTTY?: boolean; columns?: number }, env: Record<string, string | undefined> = process.env): HelpStyle {
  const tty = out.isTTY === true;
  const fromEnv = Number(env.COLUMNS);
  const width = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : tty && out.columns ? out.columns : 80;
  const color = tty && !env.NO_COLOR && env.TERM !== "dumb";
  return { width: Math.max(40, width), color };
}

/** Splits `text` into lines of at most `width` characters (a longer word stays whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== "") lines.push(line);
  return lines.length > 0 ? lines : [""];
}

/** The flag column of one entry: `-w, --workers INT`, `--reload`, `APP_MODULE`. */
function flagText(name: string, def: ArgDef): string {
  if (def.type === "positional") return name;
  const aliases = "alias" in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : [];
  const hint = def.type === "string" && "valueHint" in def && def.valueHint ? ` ${def.valueHint}` : "";
  return [...aliases.map((a) => `-${a}`), `--${name}`].join(", ") + hint;
}

/** The whole help text. */
export function renderHelp(style: HelpStyle): string {
  const cyan = (t: string) => (style.color ? `\x1b[36m${t}\x1b[39m` : t);
  const bold = (t: string) => (style.color ? `\x1b[1m${t}\x1b[22m` : t);
  const args = {
    ...registryArgs(),
    help: { type: "boolean", alias: ["h"], description: "Show this help and exit." },
    version: { type: "boolean", alias: ["v"], description: "Print the version and exit." },
  } as Record<string, ArgDef>;
  const column = Math.min(HELP_COLUMN, Math.floor(style.width / 2));
  const entry = (name: string, def: ArgDef): string[] => {
    const flag = flagText(name, def);
    const text = wrap((def.description ?? "").replace(/\s+/g, " "), style.width - column);
    const pad = " ".repeat(column);
    // The flag and the first line of text share a line when the flag leaves room (2 spaces).
    if (2 + flag.length + 2 <= column) return [`  ${cyan(flag)}${" ".repeat(column - 2 - flag.length)}${text[0]}`, ...text.slice(1).map((l) => pad + l)];
    return [`  ${cyan(flag)}`, ...text.map((l) => pad + l)];
  };
  const positional = Object.entries(args).filter(([, d]) => d.type === "positional");
  const options = Object.entries(args).filter(([, d]) => d.type !== "positional");
  const out = [
    ...wrap(`bunicorn ${VERSION}: the Green Unicorn for Bun, a pre-fork HTTP server for fetch apps.`, style.width),
    "",
    `${bold("Usage:")} bunicorn [OPTIONS] APP_MODULE`,
    `       bunicorn ctl [--control-socket PATH] [--json] COMMAND`,
    ...wrap("(ctl talks to a running server's control socket: bunicorn ctl --help)", style.width),
    "",
    bold("Arguments:"),
    ...positional.flatMap(([n, d]) => entry(n, d)),
    "",
    bold("Options:"),
    ...options.flatMap(([n, d]) => entry(n, d)),
    "",
    ...wrap("Each setting can also come from a config file (-c), BUNICORN_CMD_ARGS or BUNICORN_<SETTING_NAME>; docs/settings.md has them all.", style.width),
  ];
  return `${out.map((l) => l.trimEnd()).join("\n")}\n`;
}

export async function showHelp(): Promise<void> {
  process.stdout.write(renderHelp(helpStyle(process.stdout)));
}
