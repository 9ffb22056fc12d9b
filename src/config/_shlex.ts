/**
 * @module
 * @internal Splits a command line like a POSIX shell (Python's `shlex.split`), for
 * `BUNICORN_CMD_ARGS`: whitespace separates words; single quotes keep everything; double quotes
 * keep everything but `\"` and `\\`; a backslash outside quotes escapes the next character.
 */
import { ConfigError } from "./setting.ts";

export function shlexSplit(input: string, what = "BUNICORN_CMD_ARGS"): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) throw new ConfigError(`${what}: no closing quotation`);
      word += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < input.length) {
        const d = input[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === "\\" && (input[i + 1] === '"' || input[i + 1] === "\\")) {
          word += input[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      if (!closed) throw new ConfigError(`${what}: no closing quotation`);
      inWord = true;
    } else if (c === "\\") {
      if (i + 1 >= input.length) throw new ConfigError(`${what}: no escaped character`);
      word += input[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
