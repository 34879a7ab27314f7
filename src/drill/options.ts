/**
 * Options of `ehw drill` in three steps: raw strings from the command line → defaults → the
 * validated {@link DrillOptions}. Worker settings given to the drill are passed to every `ehw run`
 * child unchanged, so that a drill can rehearse production settings; the drill's own defaults only
 * make failovers fast enough for a local rehearsal.
 */
import { ConfigError } from "../common/errors.js";
import { ORDERING_MODES, type OrderingMode } from "../config/ordering.js";
import { WORKER_DEFAULTS } from "../config/worker.js";
import type { FaultKind, VerdictSettings } from "./types.js";

/** Worker flags the drill passes through to `ehw run`, with the drill's defaults where it has one. */
export const WORKER_PASSTHROUGH_FLAGS = {
  "--update-interval-ms": "2000",
  "--ownership-expiration-ms": "10000",
  "--strategy": "greedy",
  "--retry-delay-ms": "200",
  "--checkpoint-every": undefined,
  "--checkpoint-interval-ms": undefined,
  "--concurrency": undefined,
  "--ordering": undefined,
  "--max-batch-size": undefined,
  "--max-wait-time-ms": undefined,
  "--prefetch-count": undefined,
  "--max-retry-delay-ms": undefined,
  "--drain-timeout-ms": undefined,
} as const satisfies Record<string, string | undefined>;

/** A pass-through worker flag. */
export type WorkerFlag = keyof typeof WORKER_PASSTHROUGH_FLAGS;

/** Raw drill options: every value a string as the command line gave it, or undefined. */
export interface RawDrillOptions {
  seed?: string;
  workers?: string;
  partitions?: string;
  events?: string;
  keys?: string;
  rate?: string;
  kill?: string;
  term?: string;
  add?: string;
  restartStorage?: boolean;
  restartHub?: boolean;
  detach?: string;
  firstFaultMs?: string;
  faultSpacingMs?: string;
  catchUpTimeoutMs?: string;
  sampleIntervalMs?: string;
  out?: string;
  /** Worker flags given to the drill. */
  workerFlags?: Partial<Record<WorkerFlag, string>>;
}

/** Validated drill options. */
export interface DrillOptions {
  /** Seed of the schedule and the victim picks; default: the current time in milliseconds. */
  readonly seed: number;
  /** Workers at the start; default 3. */
  readonly workers: number;
  /** Partitions of the drill's hub; default 8. */
  readonly partitions: number;
  /** Events to send; default 50000. */
  readonly events: number;
  /** Partition keys `key-0 …`; default 64; 0 = no keys (then partitions are unknown when sending). */
  readonly keys: number;
  /** Events per second; default: spread over the fault schedule so that events flow through every fault. */
  readonly ratePerSecond: number | undefined;
  /** Faults per kind. */
  readonly faults: Readonly<Record<FaultKind, number>>;
  /** Milliseconds from the start of sending to the first fault; default 5000. */
  readonly firstFaultMs: number;
  /** Nominal milliseconds between faults; default ownership expiry + 2 update intervals + 2 s. */
  readonly faultSpacingMs: number;
  /** Milliseconds to wait for every checkpoint to reach the last event; default 120000. */
  readonly catchUpTimeoutMs: number;
  /** Milliseconds between checkpoint and ownership samples; default 500. */
  readonly sampleIntervalMs: number;
  /** Report directory; default `./drill-report`. */
  readonly out: string;
  /** Flags for every `ehw run` child, drill defaults applied. */
  readonly workerFlags: Readonly<Record<string, string>>;
  /** The settings the verdict needs, from the worker flags or the worker defaults. */
  readonly verdictSettings: VerdictSettings;
}

function integer(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `--${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`,
      {
        context: { setting: `--${name}` },
      },
    );
  }
  return n;
}

function workerFlags(raw: RawDrillOptions): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const [flag, fallback] of Object.entries(WORKER_PASSTHROUGH_FLAGS)) {
    const value = raw.workerFlags?.[flag as WorkerFlag] ?? fallback;
    if (value !== undefined) flags[flag] = value;
  }
  return flags;
}

function verdictSettings(flags: Record<string, string>): VerdictSettings {
  const ordering = (flags["--ordering"] ?? WORKER_DEFAULTS.ordering) as OrderingMode;
  if (!(ORDERING_MODES as readonly string[]).includes(ordering)) {
    throw new ConfigError(
      `--ordering must be one of ${ORDERING_MODES.join(", ")} (got ${JSON.stringify(ordering)})`,
      {
        context: { setting: "--ordering" },
      },
    );
  }
  return {
    checkpointEvery: integer(
      "checkpoint-every",
      flags["--checkpoint-every"],
      WORKER_DEFAULTS.checkpointEvery,
      1,
      1e9,
    ),
    concurrency: integer("concurrency", flags["--concurrency"], WORKER_DEFAULTS.concurrency, 1, 1e6),
    ordering,
    maxBatchSize: integer("max-batch-size", flags["--max-batch-size"], WORKER_DEFAULTS.maxBatchSize, 1, 1e6),
    batchPipeline: true,
  };
}

/** Applies defaults and validates; throws ConfigError naming the flag. */
export function compileDrillOptions(raw: RawDrillOptions, now = Date.now()): DrillOptions {
  const flags = workerFlags(raw);
  const expiry = integer("ownership-expiration-ms", flags["--ownership-expiration-ms"], 60_000, 1, 1e9);
  const interval = integer("update-interval-ms", flags["--update-interval-ms"], 10_000, 1, 1e9);
  const faults: Record<FaultKind, number> = {
    kill: integer("kill", raw.kill, 0, 0, 100),
    term: integer("term", raw.term, 0, 0, 100),
    add: integer("add", raw.add, 0, 0, 100),
    "restart-storage": raw.restartStorage ? 1 : 0,
    "restart-hub": raw.restartHub ? 1 : 0,
    detach: integer("detach", raw.detach, 0, 0, 100),
  };
  const rate = raw.rate === undefined ? undefined : integer("rate", raw.rate, 0, 1, 1e7);
  return {
    seed: integer("seed", raw.seed, now % 2_147_483_647, 0, 2_147_483_647),
    workers: integer("workers", raw.workers, 3, 1, 64),
    partitions: integer("partitions", raw.partitions, 8, 1, 1024),
    events: integer("events", raw.events, 50_000, 1, 100_000_000),
    keys: integer("keys", raw.keys, 64, 0, 100_000),
    ratePerSecond: rate,
    faults,
    firstFaultMs: integer("first-fault-ms", raw.firstFaultMs, 5000, 0, 3_600_000),
    faultSpacingMs: integer(
      "fault-spacing-ms",
      raw.faultSpacingMs,
      expiry + 2 * interval + 2000,
      1000,
      3_600_000,
    ),
    catchUpTimeoutMs: integer("catch-up-timeout-ms", raw.catchUpTimeoutMs, 120_000, 1000, 3_600_000),
    sampleIntervalMs: integer("sample-interval-ms", raw.sampleIntervalMs, 500, 50, 60_000),
    out: raw.out ?? "drill-report",
    workerFlags: flags,
    verdictSettings: verdictSettings(flags),
  };
}
