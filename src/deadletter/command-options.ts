/**
 * Options of `ehw deadletter list|replay`: the worker's connection and dead-letter container
 * settings (compiled by the worker's own validation, so the command accepts exactly what `ehw run`
 * accepts) plus the command's own flags, validated here. Pure: the raw values come from the CLI's config source.
 */
import { ConfigError } from "../common/errors.js";
import {
  compileWorkerConfig,
  type EventHubsConfig,
  type RawWorkerOptions,
  type StorageConfig,
} from "../config/worker.js";

/** The two actions of `ehw deadletter`. */
export type DeadLetterAction = "list" | "replay";

/** The command's own flags, as parsed (strings, switches). */
export interface RawDeadLetterFlags {
  readonly partition?: string;
  readonly pipeline?: string;
  readonly limit?: string;
  readonly json?: boolean;
  readonly "to-hub"?: string;
  readonly "dry-run"?: boolean;
}

/** Compiled options of `ehw deadletter`. */
export interface DeadLetterCommandOptions {
  /** `list` or `replay`. */
  readonly action: DeadLetterAction;
  /** Hub and consumer group whose documents are read; also the replay connection. */
  readonly eventHubs: EventHubsConfig;
  /** The storage account (the checkpoint settings). */
  readonly storage: StorageConfig;
  /** Dead-letter container: the worker's `deadLetterContainer` setting, default `<containerName>-deadletter`. */
  readonly deadLetterContainer: string;
  /** Only this partition's documents; default all. */
  readonly partitionId: string | undefined;
  /** Only this pipeline's documents; default all. */
  readonly pipeline: string | undefined;
  /** At most this many documents, ≥ 1; default no limit. */
  readonly limit: number | undefined;
  /** Print JSON instead of a table; default false. */
  readonly json: boolean;
  /** Replay: the hub to send to; default the hub the events came from. */
  readonly toHub: string | undefined;
  /** Replay: describe only, send and delete nothing; default false. */
  readonly dryRun: boolean;
}

/** Flags of each action besides the shared connection settings. */
export const DEAD_LETTER_FLAGS = {
  list: {
    partition: { type: "string" },
    pipeline: { type: "string" },
    limit: { type: "string" },
    json: { type: "boolean" },
  },
  replay: {
    partition: { type: "string" },
    pipeline: { type: "string" },
    limit: { type: "string" },
    json: { type: "boolean" },
    "to-hub": { type: "string" },
    "dry-run": { type: "boolean" },
  },
} as const satisfies Record<DeadLetterAction, Record<string, { type: "string" | "boolean" }>>;

function fail(flag: string, message: string): never {
  throw new ConfigError(`${flag} ${message}`, { context: { setting: flag } });
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === "") fail(flag, "must not be empty");
  return value;
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    fail(flag, `must be a whole number ≥ 1, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/**
 * Compiles the command's options. Throws ConfigError naming the flag or setting; connection
 * strings never appear in a message.
 */
export function compileDeadLetterCommandOptions(
  action: DeadLetterAction,
  raw: RawWorkerOptions,
  flags: RawDeadLetterFlags,
  baseDir: string,
): DeadLetterCommandOptions {
  // The ownership expiry is cross-checked against a load-balancing interval this command never
  // reads; it means nothing here.
  const { ownershipExpirationMs: _unused, ...connection } = raw;
  const worker = compileWorkerConfig(connection, { baseDir, randomUUID: () => "deadletter" });
  return {
    action,
    eventHubs: worker.eventHubs,
    storage: worker.storage,
    deadLetterContainer: worker.deadLetter.containerName,
    partitionId: nonEmpty("--partition", flags.partition),
    pipeline: nonEmpty("--pipeline", flags.pipeline),
    limit: positiveInteger("--limit", flags.limit),
    json: flags.json === true,
    toHub: action === "replay" ? nonEmpty("--to-hub", flags["to-hub"]) : undefined,
    dryRun: action === "replay" && flags["dry-run"] === true,
  };
}
