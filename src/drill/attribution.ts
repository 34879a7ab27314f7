/**
 * Which fault caused a hand-over, and so which duplicate bound applies to it. Pure: hand-overs from
 * the ledgers, faults from the drill's fault log.
 */
import type { Handover } from "./runs.js";
import type { ClaimRecord, FaultKind, FaultRecord } from "./types.js";

/**
 * Why processing of a partition restarted:
 * - `kill` / `term`: the previous run's worker was the victim of that fault and owned the partition
 *   then (a crash; a graceful stop, which drains and checkpoints: bound 0);
 * - `reconnect`: the same worker started over (after a hub restart, a detach or a storage restart
 *   when `fault` is set; on its own otherwise);
 * - `handover`: the new worker claimed the partition after its owner gave it up in answer to the
 *   new worker's request (cooperative hand-over: bound 0);
 * - `release`: the new worker claimed it after its owner gave it up unasked (its pump closed, or it
 *   answered another worker's request): the owner drained first, so bound 0 — unless a hub or
 *   storage fault fell in between, which may have kept the final checkpoint from being written;
 * - `steal`: the new worker took it from an owner without hand-over (a request not answered in
 *   time, or an expired ownership);
 * - `rebalance`: another, still running worker took the partition over and its log says nothing
 *   of how; `fault` is the latest fault before it, if any;
 * - `initial`: workers settling their balance before any fault (or overlapping first runs).
 */
export type HandoverCause =
  | "kill"
  | "term"
  | "reconnect"
  | "handover"
  | "release"
  | "steal"
  | "rebalance"
  | "initial";

/** A hand-over with its cause and the bound that applies. */
export interface AttributedHandover {
  readonly partitionId: string;
  /** Worker of the previous run, if there was one. */
  readonly fromWorker: string | undefined;
  readonly toWorker: string;
  /** Start of the new run, epoch milliseconds. */
  readonly atMs: number;
  readonly cause: HandoverCause;
  /** Index of the fault held responsible, if any. */
  readonly faultIndex: number | undefined;
  /** Extra processings in the new run. */
  readonly duplicates: number;
  /** Duplicates allowed for this hand-over. */
  readonly bound: number;
  /** Up to 5 duplicated sequence numbers. */
  readonly sampleSequenceNumbers: readonly number[];
  /**
   * Milliseconds both runs processed the partition at once: from this run's start until the
   * earlier of the two ends (0 when the previous run had ended). A loser that keeps processing
   * after a take-over shows up here.
   */
  readonly overlapMs: number;
}

const RECONNECT_FAULTS: readonly FaultKind[] = ["restart-hub", "restart-storage", "detach"];

/** The latest fault at or before `atMs` that `accept` accepts, from faults in time order. */
function latestFault(
  faults: readonly FaultRecord[],
  atMs: number,
  accept: (fault: FaultRecord) => boolean,
): FaultRecord | undefined {
  let found: FaultRecord | undefined;
  for (const fault of faults) {
    if (fault.atMs > atMs) break;
    if (accept(fault)) found = fault;
  }
  return found;
}

/** The new worker's latest claim of the partition at or before `atMs`, from claims in time order. */
function claimBefore(
  claims: readonly ClaimRecord[],
  workerId: string,
  partitionId: string,
  atMs: number,
): ClaimRecord | undefined {
  let found: ClaimRecord | undefined;
  for (const claim of claims) {
    if (claim.atMs > atMs) break;
    if (claim.workerId === workerId && claim.partitionId === partitionId) found = claim;
  }
  return found;
}

/** The cause from the new worker's claim line, when it tells one. */
function causeOfClaim(
  handover: Handover,
  faults: readonly FaultRecord[],
  claims: readonly ClaimRecord[],
): { cause: HandoverCause; fault: FaultRecord | undefined } | undefined {
  const from = handover.from;
  if (from === undefined) return undefined;
  const atMs = handover.to.startMs;
  const claim = claimBefore(claims, handover.to.workerId, handover.partitionId, atMs);
  if (claim === undefined || claim.atMs < from.startMs) return undefined;
  const latest = latestFault(faults, atMs, () => true);
  if (claim.via === "handover") return { cause: "handover", fault: latest };
  if (claim.via === "steal" || claim.via === "expired") return { cause: "steal", fault: latest };
  if (claim.via !== "released") return undefined;
  const disturbed = latestFault(
    faults,
    atMs,
    (f) => RECONNECT_FAULTS.includes(f.kind) && f.atMs >= from.startMs,
  );
  return { cause: "release", fault: disturbed };
}

/** The cause and fault of one hand-over; see {@link HandoverCause}. */
export function classifyHandover(
  handover: Handover,
  faults: readonly FaultRecord[],
  claims: readonly ClaimRecord[] = [],
): { cause: HandoverCause; fault: FaultRecord | undefined } {
  const from = handover.from;
  const atMs = handover.to.startMs;
  if (from === undefined) return { cause: "initial", fault: undefined };
  // The victim's hand-overs are those of partitions it owned at the fault; one it went on
  // processing after its ownership record named another worker is not handed over by the fault.
  const victimFault = latestFault(
    faults,
    atMs,
    (f) =>
      (f.kind === "kill" || f.kind === "term") &&
      f.victim === from.workerId &&
      f.atMs >= from.startMs &&
      (f.victimPartitions === undefined || f.victimPartitions.includes(handover.partitionId)),
  );
  if (victimFault !== undefined) return { cause: victimFault.kind as "kill" | "term", fault: victimFault };
  if (from.workerId === handover.to.workerId) {
    const fault = latestFault(
      faults,
      atMs,
      (f) => RECONNECT_FAULTS.includes(f.kind) && f.atMs >= from.startMs,
    );
    return { cause: "reconnect", fault };
  }
  const claimed = causeOfClaim(handover, faults, claims);
  if (claimed !== undefined) return claimed;
  const fault = latestFault(faults, atMs, () => true);
  // Before any fault, steals are the first workers settling their balance.
  if (fault === undefined) return { cause: "initial", fault };
  return { cause: "rebalance", fault };
}

/** Whether a hand-over of this cause must not process anything again (the owner drained first). */
export function mustBeExact(cause: HandoverCause, fault: FaultRecord | undefined): boolean {
  return cause === "term" || cause === "handover" || (cause === "release" && fault === undefined);
}

/**
 * Attributes every hand-over. `crashBound` applies to every cause but those of
 * {@link mustBeExact}, whose bound is 0: a graceful stop or a cooperative hand-over drains and
 * checkpoints before it lets go. `claims` are the workers' claim lines (how each claim got its
 * partition); without them, take-overs by running workers are `rebalance`.
 */
export function attributeHandovers(
  handovers: readonly Handover[],
  faults: readonly FaultRecord[],
  crashBound: number,
  claims: readonly ClaimRecord[] = [],
): AttributedHandover[] {
  const sorted = [...faults].sort((a, b) => a.atMs - b.atMs);
  const sortedClaims = [...claims].sort((a, b) => a.atMs - b.atMs);
  return handovers.map((handover) => {
    const { cause, fault } = classifyHandover(handover, sorted, sortedClaims);
    return {
      partitionId: handover.partitionId,
      fromWorker: handover.from?.workerId,
      toWorker: handover.to.workerId,
      atMs: handover.to.startMs,
      cause,
      faultIndex: fault?.index,
      duplicates: handover.duplicates,
      bound: mustBeExact(cause, fault) ? 0 : crashBound,
      sampleSequenceNumbers: handover.sampleSequenceNumbers,
      // Bounded by the new run's end: a loser that won the partition back is not "going on".
      overlapMs: Math.max(0, Math.min(handover.from?.endMs ?? 0, handover.to.endMs) - handover.to.startMs),
    };
  });
}
