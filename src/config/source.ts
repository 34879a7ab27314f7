/**
 * The one place that reads the environment, the command line and the JSON config file. It only
 * gathers raw values and their sources; `compileWorkerConfig` parses and validates them.
 */

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../common/errors.js";
import { type UnknownEnvVariable, unknownEnvVariables } from "./env-names.js";
import type { RawHandlersOptions } from "./handlers.js";
import { jsonErrorLocation } from "./json-location.js";
import { REMOVED_SETTINGS } from "./settings.js";
import { otelVariables } from "./tracing.js";
import { closestName } from "./values.js";
import {
  type RawSetting,
  type RawWorkerOptions,
  SECTION_KEYS,
  SETTINGS,
  type SettingKey,
  type SettingSource,
} from "./worker.js";

/** Result of {@link readRawWorkerOptions}. */
export interface RawWorkerOptionsResult {
  /** Raw values with their sources, flag > env > file; no defaults applied. */
  readonly raw: RawWorkerOptions;
  /** Directory relative paths from flags and env resolve against (the working directory). */
  readonly baseDir: string;
  /** True when `--help` / `-h` was given; nothing else is read then. */
  readonly help: boolean;
  /** `EHW_*` variables no setting reads (likely misspelled); the caller warns about them. */
  readonly unknownVariables: readonly UnknownEnvVariable[];
}

/** Flag and env var naming the JSON config file. */
export const CONFIG_FLAG = "--config";
const CONFIG_ENV = "EHW_CONFIG";
/** Keys a config file may carry without meaning anything (editor schema hints). */
const IGNORED_FILE_KEYS = new Set(["$schema"]);

const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];
const FLAG_TO_KEY = new Map(SETTING_KEYS.map((key) => [SETTINGS[key].flag, key]));
const KNOWN_FLAGS = [...FLAG_TO_KEY.keys(), CONFIG_FLAG, "--help"];

/**
 * Reads `ehw run` flags, `EHW_*` variables and the optional JSON config file (`--config` /
 * `EHW_CONFIG`, relative to `cwd`) into raw options. Throws ConfigError for an unknown or repeated
 * flag, a stray argument, a config file that is missing, unreadable or not a JSON object, and an
 * unknown key in it (suggesting the closest known one). Empty env vars count as unset.
 */
export function readRawWorkerOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): RawWorkerOptionsResult {
  refuseRemovedSettings(argv, env);
  const flags = parseFlags(argv);
  if (flags.help) return { raw: {}, baseDir: cwd, help: true, unknownVariables: [] };
  const file = readConfigFile(flags.values, env, cwd);
  const raw: RawWorkerOptions = {};
  for (const key of SETTING_KEYS) {
    if (key === "startPosition") continue;
    const setting = fromFlag(flags.values, key) ?? fromEnv(env, key) ?? fromFile(file, key);
    if (setting !== undefined) raw[key] = setting;
  }
  Object.assign(raw, startPositionSettings(flags.values, env, file));
  if (file !== undefined) {
    const sections: Record<string, unknown> = {};
    for (const key of ["handlers", "pipelines", "routes"] as const) {
      if (file.data[key] !== undefined) sections[key] = file.data[key];
    }
    if (Object.keys(sections).length > 0) {
      raw.handlerSections = {
        value: sections as RawHandlersOptions,
        source: { kind: "file", name: "handlers", path: file.path },
      };
    }
  }
  const otel = otelVariables(env);
  if (Object.keys(otel).length > 0) raw.otelVariables = otel;
  return { raw, baseDir: cwd, help: false, unknownVariables: unknownEnvVariables(env) };
}

interface ParsedFlags {
  help: boolean;
  values: Record<string, string[]>;
}

interface ConfigFile {
  path: string;
  data: Record<string, unknown>;
}

function parseFlags(argv: string[]): ParsedFlags {
  for (const arg of argv) {
    if (!arg.startsWith("--") || arg === "--") continue;
    const name = arg.split("=", 1)[0] ?? arg;
    if (!KNOWN_FLAGS.includes(name)) {
      const suggestion = closestName(name, KNOWN_FLAGS);
      throw new ConfigError(
        `unknown option ${name}${suggestion ? ` (did you mean ${suggestion}?)` : ""}; see 'ehw run --help'`,
        { context: { setting: name } },
      );
    }
  }
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {
    help: { type: "boolean", short: "h" },
    config: { type: "string", multiple: true },
  };
  for (const flag of FLAG_TO_KEY.keys()) options[flag.slice(2)] = { type: "string", multiple: true };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    // parseArgs reports stray arguments, unknown short flags and flags missing their value.
    throw new ConfigError(
      `invalid command line for 'ehw run' (see 'ehw run --help'): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const values: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (Array.isArray(value)) values[`--${name}`] = value.map(String);
  }
  for (const [flag, list] of Object.entries(values)) {
    if (list.length > 1 && flag !== SETTINGS.startPosition.flag) {
      throw new ConfigError(`option ${flag} is given ${list.length} times; give it once`, {
        context: { setting: flag },
      });
    }
  }
  return { help: parsed.values.help === true, values };
}

/** Shared with command-source.ts, the operator commands' reader. */
export function fromFlag(values: Record<string, string[]>, key: SettingKey): RawSetting | undefined {
  const flag = SETTINGS[key].flag;
  const value = values[flag]?.[0];
  return value === undefined ? undefined : { value, source: { kind: "flag", name: flag } };
}

/** Shared with command-source.ts, the operator commands' reader. */
export function fromEnv(env: NodeJS.ProcessEnv, key: SettingKey): RawSetting | undefined {
  const name = SETTINGS[key].env;
  const value = env[name];
  // Container runtimes often pass unset variables as empty strings.
  return value === undefined || value === "" ? undefined : { value, source: { kind: "env", name } };
}

/** Shared with command-source.ts, the operator commands' reader. */
export function fromFile(file: ConfigFile | undefined, key: string): RawSetting | undefined {
  if (file === undefined || file.data[key] === undefined) return undefined;
  return { value: file.data[key], source: { kind: "file", name: key, path: file.path } };
}

/** Shared with command-source.ts, the operator commands' reader. */
export function readConfigFile(
  values: Record<string, string[]>,
  env: NodeJS.ProcessEnv,
  cwd: string,
): ConfigFile | undefined {
  const fromFlagValue = values[CONFIG_FLAG]?.[0];
  const fromEnvValue = env[CONFIG_ENV] === "" ? undefined : env[CONFIG_ENV];
  const given = fromFlagValue ?? fromEnvValue;
  if (given === undefined) return undefined;
  const origin = fromFlagValue !== undefined ? CONFIG_FLAG : CONFIG_ENV;
  const path = resolve(cwd, given);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? "unknown error"})`;
    throw new ConfigError(`config file ${path} (from ${origin}) ${why}`, {
      cause: err,
      context: { setting: origin },
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    // The parser's message may quote the text, which may hold a key: keep it only as the cause.
    const at = jsonErrorLocation(text, err);
    const where = at === undefined ? "" : ` at line ${at.line}, column ${at.column}`;
    const reason = at?.reason === undefined ? "" : ` (${at.reason})`;
    throw new ConfigError(`config file ${path} (from ${origin}) is not valid JSON${where}${reason}`, {
      cause: err,
      context: { setting: origin },
    });
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError(`config file ${path} (from ${origin}) must hold a JSON object of settings`, {
      context: { setting: origin },
    });
  }
  checkFileKeys(data as Record<string, unknown>, path);
  return { path, data: data as Record<string, unknown> };
}

/** Throws ConfigError for a removed setting given as a flag or a (non-empty) variable. */
function refuseRemovedSettings(argv: string[], env: NodeJS.ProcessEnv): void {
  for (const [key, removed] of Object.entries(REMOVED_SETTINGS)) {
    const flag = argv.find((arg) => arg === removed.flag || arg.startsWith(`${removed.flag}=`));
    const given = flag !== undefined ? removed.flag : env[removed.env] ? removed.env : undefined;
    if (given !== undefined) {
      throw new ConfigError(`${given} ${removed.meaning}`, { context: { setting: key } });
    }
  }
}

function checkFileKeys(data: Record<string, unknown>, path: string): void {
  const known: string[] = [...SETTING_KEYS, ...SECTION_KEYS];
  for (const key of Object.keys(data)) {
    if (known.includes(key) || IGNORED_FILE_KEYS.has(key)) continue;
    const removed = REMOVED_SETTINGS[key];
    if (removed !== undefined) {
      throw new ConfigError(`config file ${path}: setting "${key}" ${removed.meaning}`, {
        context: { setting: key },
      });
    }
    const suggestion = closestName(key, known);
    throw new ConfigError(
      `config file ${path}: unknown setting "${key}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
      { context: { setting: key } },
    );
  }
}

/**
 * `startPosition` and the per-partition `startPositions`. On the command line and in
 * EHW_START_POSITION, an entry `<partition>=<position>` is an override and a bare `<position>` the
 * default; EHW_START_POSITION takes a comma-separated list. Overrides merge per partition id.
 */
function startPositionSettings(
  values: Record<string, string[]>,
  env: NodeJS.ProcessEnv,
  file: ConfigFile | undefined,
): Pick<RawWorkerOptions, "startPosition" | "startPositions"> {
  const { flag, env: envName } = SETTINGS.startPosition;
  let defaultSetting = fromFile(file, "startPosition");
  const perPartition: Record<string, RawSetting> = {};
  const fileMap = file?.data.startPositions;
  if (file !== undefined && fileMap !== undefined) {
    if (fileMap === null || typeof fileMap !== "object" || Array.isArray(fileMap)) {
      throw new ConfigError(
        `startPositions (in ${file.path}) must be an object of partition id → position, e.g. {"0": "latest"}`,
        { context: { setting: "startPositions" } },
      );
    }
    for (const [id, value] of Object.entries(fileMap)) {
      perPartition[id] = { value, source: { kind: "file", name: `startPositions.${id}`, path: file.path } };
    }
  }
  const envValue = env[envName];
  const layers: Array<[SettingSource, string[]]> = [];
  if (envValue !== undefined && envValue !== "")
    layers.push([{ kind: "env", name: envName }, envValue.split(",")]);
  if (values[flag] !== undefined) layers.push([{ kind: "flag", name: flag }, values[flag] ?? []]);
  for (const [source, entries] of layers) {
    let sawDefault = false;
    for (const entry of entries.map((e) => e.trim())) {
      const at = entry.indexOf("=");
      if (at < 0) {
        if (sawDefault) {
          throw new ConfigError(`${source.name} gives the default start position twice`, {
            context: { setting: source.name },
          });
        }
        sawDefault = true;
        defaultSetting = { value: entry, source };
      } else {
        perPartition[entry.slice(0, at)] = { value: entry.slice(at + 1), source };
      }
    }
  }
  const out: Pick<RawWorkerOptions, "startPosition" | "startPositions"> = {};
  if (defaultSetting !== undefined) out.startPosition = defaultSetting;
  if (Object.keys(perPartition).length > 0) out.startPositions = perPartition;
  return out;
}

function helpText(): string {
  const rows = SETTING_KEYS.map((key) => {
    const spec: { flag: string; env: string; meaning: string; defaultText?: string } = SETTINGS[key];
    const def = spec.defaultText === undefined ? "" : ` [default: ${spec.defaultText}]`;
    return `  ${spec.flag} <value>\n      env ${spec.env}, file "${key}"${def}\n      ${spec.meaning}`;
  });
  return [
    "usage: ehw run [options]",
    "",
    "Runs a worker: joins the consumer group, claims partitions, runs the handler pipelines and",
    "checkpoints. Each setting comes from a flag, an EHW_* variable or the JSON config file, in that",
    "order of precedence, else its default. Prefer env vars for connection strings: flags are",
    "visible in the process list.",
    "",
    `  ${CONFIG_FLAG} <path>`,
    `      env ${CONFIG_ENV}; JSON file of settings (keys as below, plus "startPositions", "handlers",`,
    '      "pipelines", "routes"); relative module paths in it resolve against its directory',
    "  -h, --help",
    "      show this text",
    ...rows,
    "",
    "Start positions: --start-position latest sets the default; --start-position 0=latest (repeatable)",
    'overrides one partition; EHW_START_POSITION takes a comma-separated list ("latest,0=earliest");',
    'the file uses "startPosition" and "startPositions": {"0": "latest"}. Times are ISO-8601 with Z or an',
    "offset, e.g. 2024-05-01T12:00:00Z.",
    "Exactly one of the Event Hubs connection string and namespace, and exactly one of the storage",
    "connection string and account URL; namespace and account URL authenticate with DefaultAzureCredential.",
  ].join("\n");
}

/** Help text of `ehw run --help`: every setting with its flag, env var, file key, default and meaning. */
export const WORKER_OPTIONS_HELP: string = helpText();
