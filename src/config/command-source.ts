/**
 * The operator commands' reader (`ehw status`, `ehw checkpoints`, `ehw deadletter`): their own
 * flags plus the worker settings they share with `ehw run`, from the same flags, `EHW_*` variables
 * and config file (read by source.ts).
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";
import { CONFIG_FLAG, fromEnv, fromFile, fromFlag, readConfigFile } from "./source.js";
import { closestName } from "./values.js";
import { type RawWorkerOptions, SETTINGS, type SettingKey } from "./worker.js";

/**
 * The settings the operator commands (`ehw status`, `ehw checkpoints`) share with `ehw run`, under
 * the same flags, `EHW_*` variables and config file keys, so one environment serves the fleet and
 * the tools that look at it.
 */
export const INSPECT_SETTING_KEYS = [
  "eventHubConnectionString",
  "eventHubNamespace",
  "eventHubName",
  "consumerGroup",
  "storageConnectionString",
  "storageAccountUrl",
  "containerName",
  "ownershipExpirationMs",
  "hubRetentionMs",
] as const satisfies readonly SettingKey[];

/** A command-specific flag of an operator command: its value type and whether it may repeat. */
export interface CommandFlagSpec {
  /** `string` takes a value; `boolean` is a switch. */
  readonly type: "string" | "boolean";
  /** Whether the flag may be given more than once (values collected in order). Default false. */
  readonly multiple?: boolean;
}

/** Result of {@link readRawInspectOptions}. */
export interface RawInspectOptionsResult {
  /** Raw values of {@link INSPECT_SETTING_KEYS} with their sources, flag > env > file; no defaults. */
  readonly raw: RawWorkerOptions;
  /** Values of the command's own flags by name without dashes (repeatable ones as string[]). */
  readonly flags: Readonly<Record<string, string | boolean | string[] | undefined>>;
  /** True when `--help` / `-h` was given; nothing else is read then. */
  readonly help: boolean;
}

/**
 * Reads an operator command's flags, the `EHW_*` variables and the optional JSON config file (the
 * worker's own file works: keys other than {@link INSPECT_SETTING_KEYS} are ignored, unknown ones
 * rejected as for `ehw run`). `command` (e.g. "checkpoints reset") names the command in messages;
 * `commandFlags` are its own flags besides the shared settings; `env` and `cwd` default to this
 * process's. Throws ConfigError for an unknown
 * or repeated flag, a flag without its value, a stray argument and a bad config file.
 */
export function readRawInspectOptions(
  command: string,
  argv: string[],
  commandFlags: Readonly<Record<string, CommandFlagSpec>>,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): RawInspectOptionsResult {
  return readRawCommandOptions(command, argv, commandFlags, INSPECT_SETTING_KEYS, env, cwd);
}

/** An operator command's options: `keys` are the worker settings it reads; see {@link readRawInspectOptions}. */
function readRawCommandOptions(
  command: string,
  argv: string[],
  commandFlags: Readonly<Record<string, CommandFlagSpec>>,
  keys: readonly SettingKey[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): RawInspectOptionsResult {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {
    help: { type: "boolean", short: "h" },
    config: { type: "string" },
  };
  for (const key of keys) options[SETTINGS[key].flag.slice(2)] = { type: "string" };
  for (const [name, spec] of Object.entries(commandFlags)) options[name] = { ...spec };
  checkInspectFlagNames(command, argv, Object.keys(options));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false, tokens: true });
  } catch (err) {
    throw new ConfigError(
      `invalid command line for 'ehw ${command}' (see 'ehw ${command} --help'): ${redactSecrets((err as Error).message)}`,
      { cause: err },
    );
  }
  const repeated = repeatedFlags(parsed.tokens ?? [], options)[0];
  if (repeated !== undefined) {
    throw new ConfigError(`option --${repeated} is given more than once; give it once`, {
      context: { setting: `--${repeated}` },
    });
  }
  if (parsed.values.help === true) return { raw: {}, flags: {}, help: true };
  const values: Record<string, string[]> = {};
  const config = parsed.values.config;
  if (typeof config === "string") values[CONFIG_FLAG] = [config];
  for (const key of keys) {
    const value = parsed.values[SETTINGS[key].flag.slice(2)];
    if (typeof value === "string") values[SETTINGS[key].flag] = [value];
  }
  const file = readConfigFile(values, env, cwd);
  const raw: RawWorkerOptions = {};
  for (const key of keys) {
    const setting = fromFlag(values, key) ?? fromEnv(env, key) ?? fromFile(file, key);
    if (setting !== undefined) raw[key] = setting;
  }
  const flags: Record<string, string | boolean | string[] | undefined> = {};
  for (const name of Object.keys(commandFlags)) {
    const value = parsed.values[name];
    flags[name] = Array.isArray(value) ? value.map(String) : value;
  }
  return { raw, flags, help: false };
}

function checkInspectFlagNames(command: string, argv: string[], names: string[]): void {
  const known = names.map((n) => `--${n}`);
  for (const arg of argv) {
    if (!arg.startsWith("--") || arg === "--") continue;
    const name = arg.split("=", 1)[0] ?? arg;
    if (known.includes(name)) continue;
    const suggestion = closestName(name, known);
    throw new ConfigError(
      `unknown option ${name}${suggestion ? ` (did you mean ${suggestion}?)` : ""}; see 'ehw ${command} --help'`,
      { context: { setting: name } },
    );
  }
}

/** Names of non-repeatable flags that occur more than once (parseArgs keeps the last silently). */
function repeatedFlags(
  tokens: ReadonlyArray<{ kind: string; name?: string }>,
  options: Record<string, { multiple?: boolean }>,
): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== "option" || token.name === undefined) continue;
    if (options[token.name]?.multiple === true) continue;
    if (seen.has(token.name)) repeated.add(token.name);
    seen.add(token.name);
  }
  return [...repeated];
}

/**
 * `ehw deadletter`'s options: {@link readRawInspectOptions} plus the worker's `deadLetterContainer`
 * setting (`--dead-letter-container`, `EHW_DEAD_LETTER_CONTAINER`, or the config file key; flag >
 * env > file), so the command finds the container the fleet writes to.
 */
export function readRawDeadLetterOptions(
  command: string,
  argv: string[],
  commandFlags: Readonly<Record<string, CommandFlagSpec>>,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): RawInspectOptionsResult {
  const keys = [...INSPECT_SETTING_KEYS, "deadLetterContainer"] as const;
  return readRawCommandOptions(command, argv, commandFlags, keys, env, cwd);
}
