/**
 * @module
 * The registry: every setting bunicorn knows, in docs order, and the `Settings` type derived
 * from it. Add a setting by adding one `defineSetting` to the right file in `settings/`.
 */
import { SECTIONS, type SettingDef } from "./setting.ts";
import { configFileSettings } from "./settings/config-file.ts";
import { controlSettings } from "./settings/control.ts";
import { debuggingSettings } from "./settings/debugging.ts";
import { loggingSettings } from "./settings/logging.ts";
import { operationsSettings } from "./settings/operations.ts";
import { processNamingSettings } from "./settings/process-naming.ts";
import { securitySettings } from "./settings/security.ts";
import { serverHookSettings } from "./settings/server-hooks.ts";
import { serverMechanicsSettings } from "./settings/server-mechanics.ts";
import { serverSocketSettings } from "./settings/server-socket.ts";
import { sslSettings } from "./settings/ssl.ts";
import { workerProcessesSettings } from "./settings/worker-processes.ts";

const ALL = [
  ...configFileSettings,
  ...debuggingSettings,
  ...loggingSettings,
  ...processNamingSettings,
  ...sslSettings,
  ...securitySettings,
  ...serverHookSettings,
  ...serverMechanicsSettings,
  ...controlSettings,
  ...operationsSettings,
  ...serverSocketSettings,
  ...workerProcessesSettings,
] as const;

type AnySetting = (typeof ALL)[number];

/** Every setting's effective value, by name. */
export type Settings = {
  [S in AnySetting as S["name"]]: S extends SettingDef<string, infer T> ? T : never;
};

declare module "../hook-types.ts" {
  interface ConfigView extends Settings {}
}

/** A setting's name. */
export type SettingName = keyof Settings;

/** Every setting, grouped by section in docs order, and in definition order within a section. */
export const SETTINGS: readonly SettingDef[] = [...(ALL as readonly SettingDef[])].sort(
  (a, b) => SECTIONS.indexOf(a.section) - SECTIONS.indexOf(b.section),
);

const BY_NAME = new Map<string, SettingDef>(SETTINGS.map((s) => [s.name, s]));

/** Names accepted in config files for Gunicorn compatibility, mapped to bunicorn's name. */
export const SETTING_ALIASES: Readonly<Record<string, SettingName>> = { wsgi_app: "app" };

/** The setting called `name` (or one of its aliases), if there is one. */
export function getSetting(name: string): SettingDef | undefined {
  return BY_NAME.get(SETTING_ALIASES[name] ?? name);
}

/** The defaults of every setting, computed now (some read the environment `env`). */
export function defaultSettings(env: Record<string, string | undefined> = process.env): Settings {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) out[s.name] = s.default(env);
  return out as Settings;
}

/** The closest known setting name, for "did you mean" hints. */
export function suggestSetting(name: string): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const s of SETTINGS) {
    const d = editDistance(name.toLowerCase(), s.name);
    if (d < bestScore) {
      bestScore = d;
      best = s.name;
    }
  }
  return bestScore <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
