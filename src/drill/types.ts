/**
 * The data a crash drill records and judges: what was sent, what each worker's ledger says was
 * processed, which faults were injected when, and what the checkpoint and ownership blobs looked
 * like over time. Plain JSON-friendly values, so that the verdict, the failover figures and the
 * report are pure functions of them and can be recomputed from a saved drill.
 */

import type { OrderingMode } from "../config/ordering.js";
import type { LedgerEntry } from "../handlers/builtins/ledger.js";

/** An event the producer got an acknowledgement for. */
export interface SentEvent {
  /** Value of the `id` application property. */
  readonly id: number;
  /** Partition the event went to (the service's hash of its key), when known. */
  readonly partitionId: string | undefined;
  /** Partition key, or null when sent without one. */
  readonly key: string | null;
}

/** The ledger file of one worker process, entries in file (append) order. */
export interface WorkerLedger {
  /** The worker's id (also its owner id); the file's identity, not the entries' `w` field. */
  readonly workerId: string;
  readonly entries: readonly LedgerEntry[];
}

/** Kinds of injected fault. */
export const FAULT_KINDS = ["kill", "term", "add", "restart-storage", "restart-hub", "detach"] as const;
/**
 * `kill`: SIGKILL a worker, then start a replacement; `term`: SIGTERM a worker (graceful stop),
 * then start a replacement once it exited; `add`: start one more worker; `restart-storage`: stop
 * and start Azurite on its data; `restart-hub`: stop and start the emulator on its data;
 * `detach`: force-detach every reader of the hub through the emulator's admin endpoint.
 */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One injected fault, as it happened. */
export interface FaultRecord {
  /** Position in the schedule, from 0; stable name `<kind>#<index>` in reports. */
  readonly index: number;
  readonly kind: FaultKind;
  /** Epoch milliseconds when the fault was injected (signal sent, restart begun, detach sent). */
  readonly atMs: number;
  /** Epoch milliseconds when the injection step finished (process gone, restart ready). */
  readonly doneAtMs: number;
  /** The worker killed or stopped (`kill`, `term`). */
  readonly victim?: string;
  /** Partitions the victim owned just before the fault (`kill`, `term`), from the last sample. */
  readonly victimPartitions?: readonly string[];
  /** The worker started by this fault (`kill`, `term`: replacement; `add`: the new one). */
  readonly started?: string;
  /** How the victim exited, e.g. "signal SIGKILL" or "code 0". */
  readonly victimExit?: string;
}

/**
 * A worker's "partition claimed" log line: which partition it claimed when, and how the claim got
 * it (`via`: new, own, released, handover, expired, steal; see ClaimVia in src/checkpoint/handover.ts).
 */
export interface ClaimRecord {
  readonly workerId: string;
  readonly partitionId: string;
  /** Epoch milliseconds of the line. */
  readonly atMs: number;
  readonly via: string;
}

/** Checkpoint sequence numbers per partition, read at one moment. */
export interface CheckpointSample {
  /** Epoch milliseconds of the read. */
  readonly atMs: number;
  /** Partition id → checkpointed sequence number (partitions without a checkpoint are absent). */
  readonly sequenceNumbers: Readonly<Record<string, number>>;
}

/** Owners per partition, read at one moment. */
export interface OwnershipSample {
  /** Epoch milliseconds of the read. */
  readonly atMs: number;
  /** Partition id → owner id; "" when released, absent when never claimed. */
  readonly owners: Readonly<Record<string, string>>;
}

/** The worker settings the verdict's duplicate bound and order checks depend on. */
export interface VerdictSettings {
  /** `--checkpoint-every`: completions between checkpoints. */
  readonly checkpointEvery: number;
  /** `--concurrency`: work units in flight per partition. */
  readonly concurrency: number;
  /** `--ordering`. */
  readonly ordering: OrderingMode;
  /** `--max-batch-size`: most events per SDK batch, hence per batch-pipeline unit. */
  readonly maxBatchSize: number;
  /**
   * Whether the pipeline is a batch pipeline (one unit holds up to `maxBatchSize` events, as the
   * `ledger` built-in's does) rather than an event pipeline (one event per unit). Default true.
   */
  readonly batchPipeline?: boolean;
}

/** Everything the verdict is computed from. */
export interface DrillObservations {
  /** Acknowledged events. */
  readonly sent: readonly SentEvent[];
  readonly ledgers: readonly WorkerLedger[];
  /** Faults in injection order. */
  readonly faults: readonly FaultRecord[];
  /** Checkpoint samples in time order. */
  readonly checkpoints: readonly CheckpointSample[];
  /** Ownership samples in time order. */
  readonly ownerships: readonly OwnershipSample[];
  /** Last sequence number per partition once sending finished (-1 for an empty partition). */
  readonly lastSequenceNumbers: Readonly<Record<string, number>>;
  readonly settings: VerdictSettings;
  /** The workers' claim lines, in any order; default none (older saved drills). */
  readonly claims?: readonly ClaimRecord[];
}
