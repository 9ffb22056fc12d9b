/**
 * @module
 * Generates `docs/settings.md` from the registry (Gunicorn's `build_settings_doc.py`): grouped by
 * section, one heading per setting, with its flags, default, environment variable, how it maps
 * onto Bun and its description. `test/config/docs.test.ts` fails when the file is stale.
 */
import { flagsOf } from "./flags.ts";
import { SETTINGS } from "./registry.ts";
import { SECTIONS, envName, type SettingDef } from "./setting.ts";
import { formatValue } from "./print.ts";

const SUPPORT_LABEL: Record<SettingDef["support"], string> = {
  supported: "as in Gunicorn",
  translated: "translated for Bun",
  accepted: "accepted, no effect on Bun",
  "not-applicable": "not applicable on Bun",
};

/** The flags as the docs list them: `` `-w INT`, `--workers INT` ``, negative forms last. */
function commandLineOf(s: SettingDef): string | null {
  const flags = flagsOf(s);
  if (!flags) return null;
  const withValue = (f: string) => (flags.meta === null ? `\`${f}\`` : `\`${f} ${flags.meta}\``);
  return [...(flags.short ? [flags.short] : []), ...flags.long]
    .map(withValue)
    .concat(flags.negative.map((f) => `\`${f}\``))
    .join(", ");
}

function defaultOf(s: SettingDef): string {
  if (s.defaultDoc) return s.defaultDoc;
  return `\`${formatValue(s.default())}\``;
}

/** The whole Markdown document. Deterministic: it does not depend on the environment. */
export function renderSettingsDoc(): string {
  const out: string[] = [
    "<!-- Generated file: edit src/config/settings/*.ts and run `bun run docs` instead. -->",
    "",
    "# Settings",
    "",
    "Every setting can be given in the config file (`bunicorn.config.ts`, by its name), as an",
    "environment variable `BUNICORN_<NAME>`, and most on the command line. Precedence, lowest",
    "first: defaults, the config file, `BUNICORN_CMD_ARGS`, `BUNICORN_<NAME>`, the command line.",
    "List values in the environment are comma-separated or a JSON array.",
    "",
    "Each setting says how it maps onto Bun: *as in Gunicorn*, *translated for Bun* (a Bun",
    "meaning, explained), *accepted, no effect on Bun* (kept so existing configs load), or *not",
    "applicable on Bun* (Python-only; setting it is an error).",
    "",
  ];
  for (const section of SECTIONS) {
    const settings = SETTINGS.filter((s) => s.section === section);
    if (settings.length === 0) continue;
    out.push(`## ${section}`, "");
    for (const s of settings) {
      out.push(`### \`${s.name}\``, "");
      const flags = commandLineOf(s);
      if (s.hookSignature) out.push(`**Hook:** \`${s.hookSignature}\` (runs in the ${s.scope === "arbiter" ? "arbiter" : "worker"})  `);
      if (flags) out.push(`**Command line:** ${flags}  `);
      out.push(`**Default:** ${defaultOf(s)}  `);
      out.push(`**Environment:** \`${envName(s.name)}\`  `);
      out.push(`**On Bun:** ${SUPPORT_LABEL[s.support]}`, "");
      out.push(s.description.trim(), "");
      if (s.bunNote) out.push(`> **Bun:** ${s.bunNote}`, "");
    }
  }
  return `${out.join("\n").trimEnd()}\n`;
}
