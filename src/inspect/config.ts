/**
 * Configuration of the operator commands: the worker's connection settings, compiled by the
 * worker's own validation so that `ehw status` accepts exactly what `ehw run` accepts, plus the
 * ownership expiry used to call an owner live or gone.
 */
import { ConfigError } from "../common/errors.js";
import { parseInteger } from "../config/values.js";
import {
  compileWorkerConfig,
  type EventHubsConfig,
  type RawWorkerOptions,
  type StorageConfig,
  WORKER_DEFAULTS,
} from "../config/worker.js";

/** Compiled, validated settings of `ehw status` and `ehw checkpoints`. */
export interface InspectConfig {
  /** Hub, namespace or connection string, and consumer group; as the worker's. */
  readonly eventHubs: EventHubsConfig;
  /** Checkpoint storage; as the worker's (`createContainer` is ignored: inspection never creates). */
  readonly storage: StorageConfig;
  /**
   * Milliseconds after which an unrenewed ownership counts as expired; default 60000 like the
   * worker's. Use the fleet's value, or live owners may be shown as expired (or the reverse).
   */
  readonly ownershipExpirationMs: number;
  /** The hub's message retention, ms; undefined = unknown (no time-left figure). */
  readonly hubRetentionMs: number | undefined;
}

/** Raw keys the worker compiler must not see: their cross checks concern settings we do not read. */
const LOCAL_KEYS = ["ownershipExpirationMs"] as const;

/**
 * Compiles the raw operator options (from `readRawInspectOptions`) with the worker's validation.
 * Throws ConfigError naming the setting as the user wrote it; never quotes a secret.
 */
export function compileInspectConfig(raw: RawWorkerOptions): InspectConfig {
  const connection: RawWorkerOptions = { ...raw };
  for (const key of LOCAL_KEYS) delete connection[key];
  // The worker compiler checks ownershipExpirationMs against updateIntervalMs, which an operator
  // command never reads; so the expiry is parsed here, alone, with the worker's integer rule.
  const worker = compileWorkerConfig(connection, { baseDir: process.cwd(), randomUUID: () => "inspect" });
  const expiry = raw.ownershipExpirationMs;
  const ownershipExpirationMs =
    expiry === undefined
      ? WORKER_DEFAULTS.ownershipExpirationMs
      : parseInteger("ownershipExpirationMs", expiry, 1);
  return {
    eventHubs: worker.eventHubs,
    storage: worker.storage,
    ownershipExpirationMs,
    hubRetentionMs: worker.observability.hubRetentionMs,
  };
}

/** Validates `--partition` values against the hub's partition ids; none given means all. */
export function choosePartitions(requested: readonly string[], partitionIds: readonly string[]): string[] {
  if (requested.length === 0) return [...partitionIds];
  const unknown = requested.filter((id) => !partitionIds.includes(id));
  if (unknown.length > 0) {
    throw new ConfigError(
      `--partition ${unknown.join(", ")}: not a partition of the hub (partitions: ${partitionIds.join(", ")})`,
      { context: { setting: "--partition" } },
    );
  }
  return [...new Set(requested)];
}
