/**
 * The command line and environment of `ehw send`, read into raw values (flag over env var; an
 * empty variable counts as unset). `compileSendOptions` in src/producer applies the defaults and
 * validates them; the tracing section (`--tracing` / EHW_TRACING and the OTEL_* variables, as for
 * `ehw run`) is compiled here by {@link compileSendTracing}.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";
import { SETTINGS } from "./settings.js";
import {
  compileTracingConfig,
  otelVariables,
  type RawTracingOptions,
  type TracingConfig,
} from "./tracing.js";

/** Env var of the connection string (the flag wins). */
export const SEND_CONNECTION_STRING_ENV = "EHW_EVENTHUB_CONNECTION_STRING";
/** Env var of the hub name (the flag wins). */
export const SEND_HUB_ENV = "EHW_EVENTHUB_NAME";

/** Raw `ehw send` values as given; every field is a string or undefined until compiled. */
export interface RawSendInput {
  connectionString?: string;
  hub?: string;
  count?: string;
  rate?: string;
  bodySize?: string;
  keys?: string;
  partition?: string;
  idStart?: string;
  type?: string;
  concurrency?: string;
  /** Env var names of the values that came from the environment, for messages. */
  labels: { connectionString?: string; hub?: string };
}

/** Result of {@link readRawSendOptions}. */
export interface RawSendOptionsResult {
  /** True for `--help`; nothing else is meaningful then. */
  readonly help: boolean;
  /** True for `--json`: print the summary as one JSON line. */
  readonly json: boolean;
  readonly raw: RawSendInput;
  /** `--tracing` (or EHW_TRACING) and the OTEL_* variables, for {@link compileSendTracing}. */
  readonly tracing: RawTracingOptions;
}

/** The service name of `ehw send`'s spans when OTEL_SERVICE_NAME is not set. */
export const SEND_SERVICE_NAME = "ehw-send";

/** Compiles `ehw send`'s tracing section (off unless `--tracing otlp`). Throws ConfigError. */
export function compileSendTracing(raw: RawTracingOptions): TracingConfig {
  return compileTracingConfig(raw, SEND_SERVICE_NAME);
}

const SEND_FLAGS = {
  "connection-string": { type: "string" },
  hub: { type: "string" },
  count: { type: "string" },
  rate: { type: "string" },
  "body-size": { type: "string" },
  keys: { type: "string" },
  partition: { type: "string" },
  "id-start": { type: "string" },
  type: { type: "string" },
  concurrency: { type: "string" },
  tracing: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;

/**
 * Reads `ehw send`'s flags, its `EHW_*` variables and the OTEL_* variables. Throws ConfigError for an unknown flag,
 * a flag without its value and a stray argument (the message never quotes a secret).
 */
export function readRawSendOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): RawSendOptionsResult {
  let flags: ReturnType<typeof parseArgs<{ options: typeof SEND_FLAGS }>>["values"];
  try {
    flags = parseArgs({ args: argv, strict: true, allowPositionals: false, options: SEND_FLAGS }).values;
  } catch (err) {
    throw new ConfigError(redactSecrets(err instanceof Error ? err.message : String(err)), { cause: err });
  }
  const envCs = env[SEND_CONNECTION_STRING_ENV] || undefined;
  const envHub = env[SEND_HUB_ENV] || undefined;
  const labels: RawSendInput["labels"] = {};
  if (flags["connection-string"] === undefined && envCs !== undefined) {
    labels.connectionString = SEND_CONNECTION_STRING_ENV;
  }
  if (flags.hub === undefined && envHub !== undefined) labels.hub = SEND_HUB_ENV;
  const raw: RawSendInput = {
    connectionString: flags["connection-string"] ?? envCs,
    hub: flags.hub ?? envHub,
    count: flags.count,
    rate: flags.rate,
    bodySize: flags["body-size"],
    keys: flags.keys,
    partition: flags.partition,
    idStart: flags["id-start"],
    type: flags.type,
    concurrency: flags.concurrency,
    labels,
  };
  return {
    help: flags.help === true,
    json: flags.json === true,
    raw,
    tracing: tracingOf(flags.tracing, env),
  };
}

function tracingOf(flag: string | undefined, env: NodeJS.ProcessEnv): RawTracingOptions {
  const { flag: flagName, env: envName } = SETTINGS.tracing;
  const envValue = env[envName] || undefined;
  const otel = otelVariables(env);
  const raw: { -readonly [K in keyof RawTracingOptions]: RawTracingOptions[K] } = {};
  if (flag !== undefined) raw.tracing = { value: flag, source: { kind: "flag", name: flagName } };
  else if (envValue !== undefined) raw.tracing = { value: envValue, source: { kind: "env", name: envName } };
  if (Object.keys(otel).length > 0) raw.otelVariables = otel;
  return raw;
}
