/**
 * @module
 * Builds the effective configuration from its sources, lowest precedence first:
 *
 * 1. setting defaults (some read `PORT`, `WEB_CONCURRENCY`, `FORWARDED_ALLOW_IPS`, `SENDFILE`);
 * 2. the config file (`-c PATH`, else `./bunicorn.config.ts` when present);
 * 3. `BUNICORN_CMD_ARGS` (command-line flags in one variable);
 * 4. `BUNICORN_<SETTING_NAME>` for every setting;
 * 5. the command line.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { shlexSplit } from "./_shlex.ts";
import { parseCommandLine, type ParsedCommandLine } from "./cli-args.ts";
import { findDefaultConfigFile, firstLine, readConfigFile, resolveConfigPath } from "./config-file.ts";
import { SETTINGS, defaultSettings, getSetting, type Settings } from "./registry.ts";
import { ConfigError, envName } from "./setting.ts";

/** Where a setting's effective value came from. */
export type SettingSource = "default" | "config file" | "BUNICORN_CMD_ARGS" | "environment" | "command line" | "code";

export interface LoadedConfig {
  settings: Settings;
  /** Where each setting's value came from. */
  sources: Record<string, SettingSource>;
  /** The config file read, if any (absolute path). */
  configFile: string | null;
  /** Hooks given as `PATH#EXPORT` strings, by setting name, with the path made absolute (workers import them again). */
  hookRefs: Record<string, string>;
  /**
   * The default of each setting whose value is a function (a hook, a class). Functions cannot
   * travel as data: a worker (or the re-executed arbiter) gets the default in their place and
   * imports the function again, from `hookRefs` or the config file.
   */
  functionDefaults: Record<string, unknown>;
  /** APP_MODULE from the command line, else the `app` setting. */
  app: string | null;
  help: boolean;
  version: boolean;
}

export interface LoadConfigOptions {
  /** Command-line arguments without the program name. */
  argv?: readonly string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Settings given in code (frameworks calling `run()`); they sit above the config file and below the environment and command line. */
  overrides?: Partial<Record<string, unknown>>;
}

/** Loads and validates the configuration. Throws `ConfigError` (one-line message) on bad input. */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const cli = parseCommandLine(opts.argv ?? []);
  const cmdArgs: ParsedCommandLine | null = env.BUNICORN_CMD_ARGS
    ? parseCommandLine(shlexSplit(env.BUNICORN_CMD_ARGS), "BUNICORN_CMD_ARGS")
    : null;
  if (cmdArgs?.app) throw new ConfigError("BUNICORN_CMD_ARGS: an APP_MODULE cannot be given here");

  const settings = defaultSettings(env) as Record<string, unknown>;
  settings.chdir = cwd;
  const sources: Record<string, SettingSource> = {};
  for (const s of SETTINGS) sources[s.name] = "default";

  const apply = (values: Record<string, unknown>, source: SettingSource, where: string) => {
    for (const [name, raw] of Object.entries(values)) {
      const setting = getSetting(name);
      if (!setting) throw new ConfigError(`${where}: unknown setting ${JSON.stringify(name)}`);
      try {
        settings[setting.name] = setting.validate(raw, setting.name);
      } catch (e) {
        if (e instanceof ConfigError) throw new ConfigError(`${e.message} (from ${where})`, e.exitCode);
        throw e;
      }
      sources[setting.name] = source;
    }
  };

  // The config file: named on the command line, in BUNICORN_CMD_ARGS or BUNICORN_CONFIG, else the default file.
  const named = (cli.values.config ?? cmdArgs?.values.config ?? env.BUNICORN_CONFIG) as string | undefined;
  const configFile = named !== undefined ? resolveConfigPath(named, cwd) : findDefaultConfigFile(cwd);
  if (configFile) {
    const fromFile = await readConfigFile(configFile);
    apply(fromFile, "config file", configFile);
  }
  if (opts.overrides) apply(opts.overrides, "code", "code");
  if (cmdArgs) apply(cmdArgs.values, "BUNICORN_CMD_ARGS", "BUNICORN_CMD_ARGS");
  const fromEnv: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const value = env[envName(s.name)];
    if (value !== undefined) fromEnv[s.name] = value;
  }
  for (const [name, value] of Object.entries(fromEnv)) apply({ [name]: value }, "environment", envName(name));
  apply(cli.values, "command line", "command line");
  if (configFile) settings.config = configFile;

  const hookRefs = await resolveHookReferences(settings, configFile ? dirname(configFile) : cwd);
  const functionDefaults: Record<string, unknown> = {};
  for (const s of SETTINGS) if (typeof settings[s.name] === "function") functionDefaults[s.name] = s.default(env);

  return {
    settings: settings as Settings,
    sources,
    configFile,
    hookRefs,
    functionDefaults,
    app: cli.app ?? (settings.app as string | null),
    help: cli.help,
    version: cli.version,
  };
}

/**
 * Hooks may be given as `PATH#EXPORT` strings (from the environment): import them now.
 * Returns the references resolved, by setting name, as `ABSOLUTE_PATH#EXPORT`.
 */
async function resolveHookReferences(settings: Record<string, unknown>, baseDir: string): Promise<Record<string, string>> {
  const refs: Record<string, string> = {};
  for (const s of SETTINGS) {
    if (s.section !== "Server Hooks") continue;
    const value = settings[s.name];
    if (typeof value !== "string") continue;
    const hash = value.lastIndexOf("#");
    const path = value.slice(0, hash);
    const exportName = value.slice(hash + 1);
    const abs = isAbsolute(path) ? path : resolve(baseDir, path);
    let mod: Record<string, unknown>;
    try {
      mod = await import(pathToFileURL(abs).href);
    } catch (e) {
      throw new ConfigError(`Invalid value for ${s.name}: cannot import ${abs}: ${firstLine(e)}`);
    }
    const fn = mod[exportName];
    if (typeof fn !== "function") throw new ConfigError(`Invalid value for ${s.name}: ${abs} has no function export ${JSON.stringify(exportName)}`);
    settings[s.name] = s.validate(fn, s.name);
    refs[s.name] = `${abs}#${exportName}`;
  }
  return refs;
}
