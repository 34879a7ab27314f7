/**
 * Failover timing, pure: for each fault, how long until every affected partition was owned again
 * (from the ownership samples) and until processing resumed (from the ledgers), and the median and
 * maximum of both per fault kind.
 */
import type { FaultKind, FaultRecord, OwnershipSample, WorkerLedger } from "./types.js";

/** One affected partition of one fault. */
export interface PartitionFailover {
  readonly partitionId: string;
  /** Milliseconds from the fault to the first sample showing an owner other than the victim. */
  readonly ownedAgainMs: number | undefined;
  /** The owner in that sample. */
  readonly newOwner: string | undefined;
  /** Milliseconds from the fault to the first ledger entry after it (by a worker other than the victim). */
  readonly resumedMs: number | undefined;
  /**
   * True when the partition had no unprocessed event left when processing could resume (at the
   * fault, or when a restarted process was back), so nothing could resume.
   */
  readonly idle: boolean;
}

/** Timing of one fault. */
export interface FaultFailover {
  readonly faultIndex: number;
  readonly kind: FaultKind;
  readonly atMs: number;
  readonly partitions: readonly PartitionFailover[];
  /** Until every affected partition was owned again; undefined when one never was. */
  readonly ownedAgainMs: number | undefined;
  /** Until processing resumed on every affected partition that had work; undefined when one never did. */
  readonly resumedMs: number | undefined;
}

/** Median and maximum, milliseconds. */
export interface Spread {
  readonly count: number;
  readonly medianMs: number | undefined;
  readonly maxMs: number | undefined;
}

/** Per fault kind: the spread of per-fault times. */
export interface KindFailover {
  readonly faults: number;
  readonly ownedAgain: Spread;
  readonly resumed: Spread;
}

/** The median (mean of the middle two for an even count) and the maximum. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { count: 0, medianMs: undefined, maxMs: undefined };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { count: sorted.length, medianMs: median, maxMs: sorted[sorted.length - 1] };
}

/** The partitions a fault affects: the victim's for kill/term, every partition for hub and storage faults, none for add. */
export function affectedPartitions(fault: FaultRecord, allPartitions: readonly string[]): string[] {
  if (fault.kind === "kill" || fault.kind === "term") return [...(fault.victimPartitions ?? [])];
  if (fault.kind === "add") return [];
  return [...allPartitions];
}

interface PartitionActivity {
  /** Entry times with worker and sequence number, sorted by time. */
  readonly entries: Array<{ t: number; w: string; s: number }>;
}

function activity(ledgers: readonly WorkerLedger[]): Map<string, PartitionActivity> {
  const map = new Map<string, PartitionActivity>();
  for (const ledger of ledgers) {
    for (const e of ledger.entries) {
      let a = map.get(e.p);
      if (a === undefined) {
        a = { entries: [] };
        map.set(e.p, a);
      }
      a.entries.push({ t: e.t, w: ledger.workerId, s: e.s });
    }
  }
  for (const a of map.values()) a.entries.sort((x, y) => x.t - y.t);
  return map;
}

/** Processing resumes after the fault, or, for restarts, after the restarted process was back. */
function resumeFromMs(fault: FaultRecord): number {
  return fault.kind === "restart-hub" || fault.kind === "restart-storage" ? fault.doneAtMs : fault.atMs;
}

function partitionFailover(
  fault: FaultRecord,
  partitionId: string,
  ownerships: readonly OwnershipSample[],
  act: PartitionActivity | undefined,
  lastSequenceNumber: number | undefined,
): PartitionFailover {
  const victim = fault.victim;
  const owned = ownerships.find((sample) => {
    if (sample.atMs <= fault.atMs) return false;
    const owner = sample.owners[partitionId];
    return owner !== undefined && owner !== "" && owner !== victim;
  });
  const entries = act?.entries ?? [];
  const from = resumeFromMs(fault);
  // Idle: every event had been processed by the time processing could resume, so none could.
  let maxBefore = -1;
  for (const e of entries) if (e.t <= from && e.s > maxBefore) maxBefore = e.s;
  const idle = lastSequenceNumber !== undefined && maxBefore >= lastSequenceNumber;
  const resumed = idle ? undefined : entries.find((e) => e.t > from && e.w !== victim);
  return {
    partitionId,
    ownedAgainMs: owned === undefined ? undefined : owned.atMs - fault.atMs,
    newOwner: owned?.owners[partitionId],
    resumedMs: resumed === undefined ? undefined : resumed.t - fault.atMs,
    idle,
  };
}

/** The largest value, or undefined when any is missing (or there are none). */
function allOrNothingMax(values: ReadonlyArray<number | undefined>): number | undefined {
  if (values.length === 0 || values.some((v) => v === undefined)) return undefined;
  return Math.max(...(values as number[]));
}

/** Timing of every fault that affects partitions (not `add`). */
export function computeFailovers(
  faults: readonly FaultRecord[],
  ownerships: readonly OwnershipSample[],
  ledgers: readonly WorkerLedger[],
  lastSequenceNumbers: Readonly<Record<string, number>>,
): FaultFailover[] {
  const allPartitions = Object.keys(lastSequenceNumbers).sort((a, b) => Number(a) - Number(b));
  const byPartition = activity(ledgers);
  const samples = [...ownerships].sort((a, b) => a.atMs - b.atMs);
  return faults
    .filter((fault) => fault.kind !== "add")
    .map((fault) => {
      const partitions = affectedPartitions(fault, allPartitions).map((p) =>
        partitionFailover(fault, p, samples, byPartition.get(p), lastSequenceNumbers[p]),
      );
      return {
        faultIndex: fault.index,
        kind: fault.kind,
        atMs: fault.atMs,
        partitions,
        ownedAgainMs: allOrNothingMax(partitions.map((p) => p.ownedAgainMs)),
        resumedMs: allOrNothingMax(partitions.filter((p) => !p.idle).map((p) => p.resumedMs)),
      };
    });
}

/** Median and maximum per fault kind, over the faults whose times are known. */
export function summarizeFailovers(
  failovers: readonly FaultFailover[],
): Partial<Record<FaultKind, KindFailover>> {
  const byKind: Partial<Record<FaultKind, KindFailover>> = {};
  const kinds = [...new Set(failovers.map((f) => f.kind))];
  for (const kind of kinds) {
    const ofKind = failovers.filter((f) => f.kind === kind);
    const known = (values: Array<number | undefined>) => values.filter((v): v is number => v !== undefined);
    byKind[kind] = {
      faults: ofKind.length,
      ownedAgain: spread(known(ofKind.map((f) => f.ownedAgainMs))),
      resumed: spread(known(ofKind.map((f) => f.resumedMs))),
    };
  }
  return byKind;
}
