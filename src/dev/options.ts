/**
 * Options of `ehw dev` in three steps: raw values as the command line gave them → defaults → the
 * validated {@link DevOptions}. Every rejection names the flag and what is allowed.
 */
import { ConfigError } from "../common/errors.js";
import { compileTracingConfig, configuredTracesUrl, type TracingConfig } from "../config/tracing.js";

/** Values as given (strings from the command line), before defaults and validation. */
export interface RawDevOptions {
  /** Data directory (`--data`); default: a new directory under the OS temp dir. */
  dataDir?: string;
  /** Event hub name (`--hub`); default "orders". */
  hub?: unknown;
  /** Partitions of the hub (`--partitions`); default 8. */
  partitions?: unknown;
  /** Worker processes started at the beginning (`--workers`); default 3. */
  workers?: unknown;
  /** Producer rate in events per second (`--rate`); default 200; 0 = no producer. */
  rate?: unknown;
  /** Partition keys the producer spreads events over (`--keys`); default {@link defaultKeyCount}. */
  keys?: unknown;
  /** Handler of every worker (`--handler`); default "ledger" writing `<data>/ledger/<ownerId>.jsonl`. */
  handler?: unknown;
  /** Completed events between checkpoints (`--checkpoint-every`); default: the worker's. */
  checkpointEvery?: unknown;
  /** Milliseconds between plain summaries without a terminal (`--summary-interval-ms`); default 5000. */
  summaryIntervalMs?: unknown;
  /** Run this many milliseconds, then quit (`--duration-ms`); default: until quit. */
  durationMs?: unknown;
  /** AMQP port of the emulator (`--eventhub-port`); default 0 = any free port. */
  eventHubPort?: unknown;
  /** Blob port of Azurite (`--storage-port`); default 0 = any free port. */
  storagePort?: unknown;
  /** Print plain summaries even on a terminal (`--plain`); default false. */
  plain?: boolean;
  /** Workers trace their handler attempts (`--tracing`); default false. */
  tracing?: boolean;
  /** The OTEL_* variables of the environment (src/config/tracing.ts `otelVariables`); default none. */
  otelVariables?: Readonly<Record<string, string>>;
}

/** Validated options of one `ehw dev` run. */
export interface DevOptions {
  /** Data directory, or undefined to create one under the OS temp dir. */
  readonly dataDir: string | undefined;
  /** Event hub name. */
  readonly hub: string;
  /** Partitions of the hub, 1 … {@link MAX_PARTITIONS}. */
  readonly partitions: number;
  /** Workers started at the beginning, 0 … {@link MAX_WORKERS}. */
  readonly workers: number;
  /** Producer rate in events per second; 0 = no producer. */
  readonly ratePerSecond: number;
  /** Partition keys of the producer, ≥ 1. */
  readonly keys: number;
  /** Handler of every worker: "ledger" (with a per-worker ledger file), "log", or a module. */
  readonly handler: string;
  /** Completed events between checkpoints, or undefined for the worker's default. */
  readonly checkpointEvery: number | undefined;
  /** Milliseconds between plain summaries, ≥ 100. */
  readonly summaryIntervalMs: number;
  /** Milliseconds to run before quitting, or undefined to run until quit. */
  readonly durationMs: number | undefined;
  /** Emulator AMQP port; 0 = any free port. */
  readonly eventHubPort: number;
  /** Azurite blob port; 0 = any free port. */
  readonly storagePort: number;
  /** Plain summaries even on a terminal. */
  readonly plain: boolean;
  /** Workers run with `--tracing otlp`. */
  readonly tracing: boolean;
  /**
   * With {@link tracing}: the collector the OTEL_* variables name, where the workers export
   * instead; undefined = to the dev stack's own receiver, summarised in the view.
   */
  readonly collectorTracesUrl: string | undefined;
  /**
   * With {@link tracing}: the producer's tracing settings from the OTEL_* variables (service name
   * "ehw-dev-producer" unless OTEL_SERVICE_NAME says), so that its events carry a traceparent.
   */
  readonly producerTracing: TracingConfig | undefined;
}

/** Default values. */
export const DEV_DEFAULTS = {
  hub: "orders",
  partitions: 8,
  workers: 3,
  ratePerSecond: 200,
  handler: "ledger",
  summaryIntervalMs: 5000,
} as const;

/**
 * Keys the producer uses unless told: 4 per partition and at least 32. Keys hash to partitions
 * unevenly (8 keys reach only 6 of 8 partitions), and an idle partition teaches nothing.
 */
export function defaultKeyCount(partitions: number): number {
  return Math.max(32, partitions * 4);
}

/** Most workers `ehw dev` starts at the beginning (more can be added with the `a` key). */
export const MAX_WORKERS = 32;
/** Most partitions of the dev hub. */
export const MAX_PARTITIONS = 1024;
/** Highest producer rate, events per second. */
export const MAX_RATE_PER_SECOND = 100_000;

/** Hub names the emulator and Event Hubs accept: letters, digits, `.`, `_`, `-`, at most 256. */
const HUB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/;

function shown(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function fail(flag: string, problem: string): never {
  throw new ConfigError(`${flag} ${problem}`, { context: { setting: flag } });
}

/** A whole number in [min, max] from a number or a decimal string. */
function integer(value: unknown, flag: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max) {
    fail(flag, `must be a whole number from ${min} to ${max} (got ${shown(value)})`);
  }
  return n;
}

function optionalInteger(value: unknown, flag: string, min: number, max: number): number | undefined {
  return value === undefined ? undefined : integer(value, flag, min, min, max);
}

function rate(value: unknown): number {
  if (value === undefined) return DEV_DEFAULTS.ratePerSecond;
  const n = typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0 || n > MAX_RATE_PER_SECOND) {
    fail(
      "--rate",
      `must be events per second from 0 (no producer) to ${MAX_RATE_PER_SECOND} (got ${shown(value)})`,
    );
  }
  return n;
}

function text(value: unknown, flag: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value.trim() === "") fail(flag, "must be a non-empty string");
  return value.trim();
}

function producerTracing(otel: Readonly<Record<string, string>> | undefined): TracingConfig {
  return compileTracingConfig(
    {
      tracing: { value: "otlp", source: { kind: "flag", name: "--tracing" } },
      ...(otel === undefined ? {} : { otelVariables: otel }),
    },
    "ehw-dev-producer",
  );
}

/** Applies defaults and validates; throws ConfigError naming the flag and what is allowed. */
export function compileDevOptions(raw: RawDevOptions): DevOptions {
  const hub = text(raw.hub, "--hub", DEV_DEFAULTS.hub);
  if (!HUB_NAME.test(hub)) {
    fail(
      "--hub",
      `must start with a letter or digit and hold only letters, digits, '.', '_' and '-' (got ${shown(hub)})`,
    );
  }
  const dataDir = raw.dataDir === undefined ? undefined : text(raw.dataDir, "--data", "");
  const partitions = integer(raw.partitions, "--partitions", DEV_DEFAULTS.partitions, 1, MAX_PARTITIONS);
  return {
    dataDir,
    hub,
    partitions,
    workers: integer(raw.workers, "--workers", DEV_DEFAULTS.workers, 0, MAX_WORKERS),
    ratePerSecond: rate(raw.rate),
    keys: integer(raw.keys, "--keys", defaultKeyCount(partitions), 1, 100_000),
    handler: text(raw.handler, "--handler", DEV_DEFAULTS.handler),
    checkpointEvery: optionalInteger(raw.checkpointEvery, "--checkpoint-every", 1, Number.MAX_SAFE_INTEGER),
    summaryIntervalMs: integer(
      raw.summaryIntervalMs,
      "--summary-interval-ms",
      DEV_DEFAULTS.summaryIntervalMs,
      100,
      3_600_000,
    ),
    durationMs: optionalInteger(raw.durationMs, "--duration-ms", 1, Number.MAX_SAFE_INTEGER),
    eventHubPort: integer(raw.eventHubPort, "--eventhub-port", 0, 0, 65535),
    storagePort: integer(raw.storagePort, "--storage-port", 0, 0, 65535),
    plain: raw.plain === true,
    tracing: raw.tracing === true,
    collectorTracesUrl: raw.tracing === true ? configuredTracesUrl(raw.otelVariables ?? {}) : undefined,
    producerTracing: raw.tracing === true ? producerTracing(raw.otelVariables) : undefined,
  };
}
