/**
 * The dev view's model from one round of samples, without I/O: each worker's state label, owned
 * partitions, rate and in-flight count; each partition's owner, checkpoint, last enqueued event
 * and lag; and the totals. Anything not known (yet) stays undefined and is shown as "-".
 */
import type { PartitionStatusRow } from "../inspect/status-rows.js";
import { unprocessedAgeSeconds } from "../observability/lag.js";
import type { TraceFigures } from "./trace-summary.js";
import type { WorkerLogState } from "./worker-log.js";

/** How a worker process ended, as the child process reported it. */
export interface WorkerExit {
  code: number | null;
  signal: string | null;
}

/** The facts known about one worker process at sampling time. */
export interface WorkerSnapshot {
  /** Owner id, e.g. "worker-2". */
  ownerId: string;
  /** Process id. */
  pid: number;
  /** Set once the process has exited. */
  exit: WorkerExit | undefined;
  /** Whether the supervisor asked it to stop (SIGTERM or SIGKILL). */
  stopRequested: boolean;
  /** What its log lines said. */
  log: WorkerLogState;
  /** Events it handled this session (ledger lines), when known. */
  processed: number | undefined;
  /** Its handling rate, events per second, when known. */
  eventsPerSecond: number | undefined;
}

/** The producer's counters; undefined in {@link DevSnapshot} when there is no producer. */
export interface ProducerSnapshot {
  /** Events acknowledged by the hub. */
  sent: number;
  /** Sending rate, events per second, when known. */
  eventsPerSecond: number | undefined;
  /** Why it stopped sending, when it failed. */
  failure: string | undefined;
}

/** The traces of `ehw dev --tracing`. */
export interface TracesSnapshot {
  /** Where the workers export: the dev stack's receiver or the collector the OTEL_* variables name. */
  destination: string;
  /** Wall-clock time of the sample, ms since the epoch. */
  atMs: number;
  /** Whether it is the dev stack's own receiver, whose summary {@link figures} holds. */
  local: boolean;
  /** What arrived at the dev stack's receiver. */
  figures?: TraceFigures;
  /** Export requests the receiver refused. */
  refused?: number;
}

/** One round of samples. */
export interface DevSnapshot {
  /** Milliseconds since the stack was up. */
  uptimeMs: number;
  /** Event hub name. */
  hub: string;
  /** Partitions of the hub. */
  partitionCount: number;
  /** The producer, or undefined when `--rate 0`. */
  producer: ProducerSnapshot | undefined;
  /** Every worker started this session, oldest first. */
  workers: WorkerSnapshot[];
  /** Partition rows as `ehw status` computes them, or undefined when none could be read yet. */
  partitions: readonly PartitionStatusRow[] | undefined;
  /** Why partitions could not be read, when they could not. */
  partitionsError: string | undefined;
  /** Rate of all workers together, events per second, when known. */
  processedPerSecond: number | undefined;
  /** Handlings of events that had been handled before in this session (from ledgers), when known. */
  redelivered: number | undefined;
  /** Wall-clock time of the sample, ms since the epoch, for the age lag; undefined = no age shown. */
  nowMs?: number;
  /** The same by cause (crash, steal, handover, release, reconnect, other), when known. */
  redeliveredByCause?: Readonly<Record<string, number>> | undefined;
  /** With `--tracing`: where the spans go and, received locally, their summary. */
  traces?: TracesSnapshot | undefined;
}

/** A worker's state as the view names it. */
export type WorkerStateKind = "starting" | "running" | "stopping" | "exited";

/** One worker row. */
export interface WorkerRow {
  ownerId: string;
  pid: number;
  state: WorkerStateKind;
  /** "running", or "exited 1", "exited SIGKILL" … */
  stateLabel: string;
  /** Partitions it processes, numerically sorted. */
  partitions: string[];
  eventsPerSecond: number | undefined;
  inFlight: number | undefined;
  processed: number | undefined;
  /** The last error line of a worker that exited with a failure. */
  note: string | undefined;
}

/** One partition row. */
export interface PartitionRow {
  partitionId: string;
  /** Owner id, or undefined when unowned. */
  owner: string | undefined;
  /** Whether the owner stopped renewing (crashed) and the ownership has expired. */
  expired: boolean;
  /** Whether the owner is a dev worker whose process has exited (its claim lingers until expiry). */
  ownerExited: boolean;
  checkpoint: number | undefined;
  lastEnqueued: number | undefined;
  lag: number | undefined;
  /**
   * Seconds since the oldest unprocessed event was enqueued: 0 with no lag, else from the owning
   * worker's status line (the oldest event it holds unfinished); undefined when not known.
   */
  ageSeconds?: number | undefined;
}

/** The totals line. */
export interface DevTotals {
  sent: number | undefined;
  sentPerSecond: number | undefined;
  processed: number | undefined;
  processedPerSecond: number | undefined;
  /** Events handled again (at-least-once redelivery), when known. */
  redelivered: number | undefined;
  /** The same by cause, when known; causes with none are absent. */
  redeliveredByCause?: Readonly<Record<string, number>> | undefined;
  /** Sum of the partitions' lag, when every partition's is known. */
  lag: number | undefined;
  /** Partitions whose owner is live (unexpired, process not exited), when partitions are known. */
  ownedPartitions: number | undefined;
  partitionCount: number;
  /** Workers not exited and not stopping. */
  activeWorkers: number;
}

/** Everything the live view and the plain summary show. */
export interface DevView {
  uptimeMs: number;
  hub: string;
  workers: WorkerRow[];
  partitions: PartitionRow[] | undefined;
  totals: DevTotals;
  /** A problem worth a line of its own (producer failure, unreadable partitions). */
  notes: string[];
  /** With `--tracing`: where the spans go and, received locally, their summary. */
  traces?: TracesSnapshot | undefined;
}

/** Decides a worker's state from its process and log facts. */
export function workerState(worker: WorkerSnapshot): WorkerStateKind {
  if (worker.exit !== undefined) return "exited";
  if (worker.stopRequested || worker.log.draining) return "stopping";
  return worker.log.subscribed ? "running" : "starting";
}

function exitLabel(exit: WorkerExit): string {
  if (exit.signal !== null) return `exited ${exit.signal}`;
  return `exited ${exit.code ?? "?"}`;
}

/** Orders partition ids numerically when they are numbers, else as text. */
export function comparePartitionIds(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (Number.isInteger(x) && Number.isInteger(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

function sumDefined(values: Array<number | undefined>): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0);
}

/** Builds one worker row. */
export function workerRow(worker: WorkerSnapshot): WorkerRow {
  const state = workerState(worker);
  const exited = state === "exited";
  const status = worker.log.status;
  const failed = worker.exit !== undefined && (worker.exit.code ?? 0) !== 0 && !worker.stopRequested;
  return {
    ownerId: worker.ownerId,
    pid: worker.pid,
    state,
    stateLabel: worker.exit === undefined ? state : exitLabel(worker.exit),
    partitions: exited ? [] : [...worker.log.partitions].sort(comparePartitionIds),
    eventsPerSecond: exited ? undefined : worker.eventsPerSecond,
    inFlight:
      exited || status === undefined
        ? undefined
        : (sumDefined(status.partitions.map((p) => p.inFlight)) ?? 0),
    processed: worker.processed,
    note: failed ? worker.log.lastError : undefined,
  };
}

/**
 * Builds one partition row; `exitedOwners` are owner ids of workers whose process has exited;
 * `oldest` is what the owner's status line says of the oldest event it holds, and the time now.
 */
export function partitionRow(
  p: PartitionStatusRow,
  exitedOwners: ReadonlySet<string> = new Set(),
  oldest?: { readonly enqueuedTimeMs: number | null | undefined; readonly nowMs: number },
): PartitionRow {
  // A relinquished record ("" owner after a clean shutdown) is as free as no record at all.
  const held = p.ownershipState === "owned" || p.ownershipState === "expired";
  const owner = held && p.ownerId !== undefined && p.ownerId !== "" ? p.ownerId : undefined;
  return {
    partitionId: p.partitionId,
    owner,
    expired: owner !== undefined && p.ownershipState === "expired",
    ownerExited: owner !== undefined && exitedOwners.has(owner),
    checkpoint: p.checkpoint?.sequenceNumber,
    lastEnqueued: p.isEmpty ? undefined : p.lastEnqueuedSequenceNumber,
    lag: p.lag,
    ageSeconds:
      p.lag === 0
        ? 0
        : oldest === undefined || oldest.enqueuedTimeMs === null
          ? undefined
          : unprocessedAgeSeconds(oldest.enqueuedTimeMs, oldest.nowMs),
  };
}

/** Per partition, what its owner's last status line says of the oldest event it holds. */
function heldByOwners(workers: readonly WorkerSnapshot[]): Map<string, number | null | undefined> {
  const held = new Map<string, number | null | undefined>();
  for (const worker of workers) {
    if (worker.exit !== undefined) continue;
    for (const p of worker.log.status?.partitions ?? [])
      held.set(p.partitionId, p.oldestIncompleteEnqueuedTimeMs);
  }
  return held;
}

function totals(
  snapshot: DevSnapshot,
  workers: WorkerRow[],
  partitions: PartitionRow[] | undefined,
): DevTotals {
  const lags = partitions?.map((p) => p.lag);
  return {
    sent: snapshot.producer?.sent,
    sentPerSecond: snapshot.producer?.eventsPerSecond,
    processed: sumDefined(workers.map((w) => w.processed)),
    processedPerSecond: snapshot.processedPerSecond,
    redelivered: snapshot.redelivered,
    redeliveredByCause: snapshot.redeliveredByCause,
    lag: lags === undefined || lags.some((l) => l === undefined) ? undefined : sumDefined(lags),
    ownedPartitions: partitions?.filter((p) => p.owner !== undefined && !p.expired && !p.ownerExited).length,
    partitionCount: snapshot.partitionCount,
    activeWorkers: workers.filter((w) => w.state === "running" || w.state === "starting").length,
  };
}

/** Builds the whole view from one round of samples. */
export function buildDevView(snapshot: DevSnapshot): DevView {
  const workers = snapshot.workers.map(workerRow);
  const exitedOwners = new Set(workers.filter((w) => w.state === "exited").map((w) => w.ownerId));
  const held = heldByOwners(snapshot.workers);
  const { nowMs } = snapshot;
  const partitions = snapshot.partitions
    ?.map((p) =>
      partitionRow(
        p,
        exitedOwners,
        nowMs === undefined ? undefined : { enqueuedTimeMs: held.get(p.partitionId), nowMs },
      ),
    )
    .sort((a, b) => comparePartitionIds(a.partitionId, b.partitionId));
  const notes: string[] = [];
  if (snapshot.producer?.failure !== undefined) notes.push(`producer stopped: ${snapshot.producer.failure}`);
  if (snapshot.partitionsError !== undefined) notes.push(`partitions: ${snapshot.partitionsError}`);
  const refused = snapshot.traces?.refused ?? 0;
  if (refused > 0) notes.push(`traces: the receiver refused ${refused} export requests (see logs/stack.log)`);
  return {
    uptimeMs: snapshot.uptimeMs,
    hub: snapshot.hub,
    workers,
    partitions,
    totals: totals(snapshot, workers, partitions),
    notes,
    traces: snapshot.traces,
  };
}
