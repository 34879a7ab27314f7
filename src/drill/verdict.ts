/**
 * The drill's verdict: the delivery guarantees of DESIGN.md checked against what was observed.
 * Pure: every input is data recorded by the drill (or written by hand in tests).
 *
 * Invariants, each with a stable name:
 * - `lost-events`: every acknowledged id appears in some worker's ledger;
 * - `excess-duplicates`: the events processed again after each hand-over stay within its bound
 *   (see bound.ts; 0 after a graceful stop or a cooperative hand-over, see attribution.ts); a
 *   duplicate is one more processing of the same (partition, sequence number);
 * - `checkpoint-moved-backwards`: no partition's sampled checkpoint is ever lower than an earlier one;
 * - `key-order-violated`: under `key` or `partition` ordering, within each processing run (see
 *   runs.ts) the sequence numbers of each partition key appear in increasing order;
 * - `not-caught-up`: at the end, every partition's checkpoint reached its last sequence number.
 */
import { type AttributedHandover, attributeHandovers } from "./attribution.js";
import { type DuplicateBound, duplicateBound } from "./bound.js";
import { buildRuns, findHandovers, type ProcessingRun } from "./runs.js";
import type { CheckpointSample, DrillObservations, SentEvent, WorkerLedger } from "./types.js";

/** Names of the invariants, in report order. */
export const INVARIANT_NAMES = [
  "lost-events",
  "excess-duplicates",
  "checkpoint-moved-backwards",
  "key-order-violated",
  "not-caught-up",
] as const;
/** The name of one invariant. */
export type InvariantName = (typeof INVARIANT_NAMES)[number];

/** The outcome of one invariant. */
export interface InvariantResult {
  readonly name: InvariantName;
  readonly passed: boolean;
  /** One line: what was checked and what was found. */
  readonly summary: string;
  /** Machine-readable specifics (the first few offenders). */
  readonly details: Record<string, unknown>;
}

/** Duplicate figures. */
export interface DuplicateStats {
  /** Extra processings, over all partitions. */
  readonly total: number;
  /** Extra processings per partition. */
  readonly byPartition: Readonly<Record<string, number>>;
  /**
   * Extra processings per cause: `<cause>@<fault index>` (e.g. `kill@0`, `term@2`, `steal@2` and
   * `handover@2` for take-overs after fault 2, `reconnect@3`), or the bare cause without a fault.
   */
  readonly byCause: Readonly<Record<string, number>>;
  readonly bound: DuplicateBound;
  readonly handovers: readonly AttributedHandover[];
}

/** The verdict of one drill. */
export interface Verdict {
  readonly passed: boolean;
  /** Every invariant, passed or not, in {@link INVARIANT_NAMES} order. */
  readonly invariants: readonly InvariantResult[];
  /** The failed ones. */
  readonly failures: readonly InvariantResult[];
  readonly sent: number;
  /** Ledger entries over all workers. */
  readonly processed: number;
  /** Distinct (partition, sequence number) pairs processed. */
  readonly distinctProcessed: number;
  readonly duplicates: DuplicateStats;
  readonly runs: number;
}

/** How many offenders a failure lists. */
const FIRST_FEW = 10;

function result(name: InvariantName, passed: boolean, summary: string, details: Record<string, unknown>) {
  return { name, passed, summary, details };
}

/** `lost-events`. */
export function checkLost(sent: readonly SentEvent[], ledgers: readonly WorkerLedger[]): InvariantResult {
  const seen = new Set<unknown>();
  for (const ledger of ledgers) for (const entry of ledger.entries) seen.add(entry.id);
  const lost = sent.filter((event) => !seen.has(event.id));
  const byPartition: Record<string, number> = {};
  for (const event of lost) {
    const p = event.partitionId ?? "?";
    byPartition[p] = (byPartition[p] ?? 0) + 1;
  }
  const firstIds = lost.slice(0, FIRST_FEW).map((event) => event.id);
  const summary =
    lost.length === 0
      ? `all ${sent.length} acknowledged ids processed at least once`
      : `${lost.length} of ${sent.length} acknowledged ids never processed, first: ${firstIds.join(", ")}`;
  return result("lost-events", lost.length === 0, summary, { lost: lost.length, firstIds, byPartition });
}

/** `excess-duplicates`. */
export function checkDuplicates(handovers: readonly AttributedHandover[], bound: number): InvariantResult {
  const excess = handovers.filter((h) => h.duplicates > h.bound);
  const total = handovers.reduce((sum, h) => sum + h.duplicates, 0);
  const describe = (h: AttributedHandover) =>
    `partition ${h.partitionId} ${h.cause}${h.faultIndex === undefined ? "" : `#${h.faultIndex}`} ` +
    `${h.fromWorker ?? "?"}→${h.toWorker}: ${h.duplicates} > ${h.bound}`;
  const summary =
    excess.length === 0
      ? `${total} duplicates, every hand-over within its bound (${bound} after a crash or steal, 0 after SIGTERM or a cooperative hand-over)`
      : `${excess.length} hand-over(s) over their bound: ${excess.slice(0, 3).map(describe).join("; ")}`;
  return result("excess-duplicates", excess.length === 0, summary, {
    total,
    excess: excess.slice(0, FIRST_FEW),
  });
}

/** `checkpoint-moved-backwards`. */
export function checkCheckpoints(samples: readonly CheckpointSample[]): InvariantResult {
  const last = new Map<string, { atMs: number; s: number }>();
  const backwards: Array<{ partitionId: string; from: number; to: number; atMs: number }> = [];
  for (const sample of [...samples].sort((a, b) => a.atMs - b.atMs)) {
    for (const [p, s] of Object.entries(sample.sequenceNumbers)) {
      const before = last.get(p);
      if (before !== undefined && s < before.s)
        backwards.push({ partitionId: p, from: before.s, to: s, atMs: sample.atMs });
      last.set(p, { atMs: sample.atMs, s });
    }
  }
  const first = backwards[0];
  const summary =
    first === undefined
      ? `${samples.length} samples, no checkpoint moved backwards`
      : `${backwards.length} backwards move(s), first: partition ${first.partitionId} ${first.from} → ${first.to}`;
  return result("checkpoint-moved-backwards", backwards.length === 0, summary, {
    samples: samples.length,
    backwards: backwards.slice(0, FIRST_FEW),
  });
}

/** `key-order-violated`: within each run, each key's sequence numbers increase. */
export function checkKeyOrder(runs: readonly ProcessingRun[], applies: boolean): InvariantResult {
  if (!applies)
    return result("key-order-violated", true, "not checked: ordering is none", { checked: false });
  const violations: Array<{
    partitionId: string;
    workerId: string;
    key: string;
    previous: number;
    next: number;
  }> = [];
  let keysChecked = 0;
  for (const run of runs) {
    const lastByKey = new Map<string, number>();
    for (const entry of run.entries) {
      if (entry.k === null) continue;
      const previous = lastByKey.get(entry.k);
      if (previous !== undefined && entry.s <= previous) {
        violations.push({
          partitionId: run.partitionId,
          workerId: run.workerId,
          key: entry.k,
          previous,
          next: entry.s,
        });
      }
      lastByKey.set(entry.k, entry.s);
    }
    keysChecked += lastByKey.size;
  }
  const first = violations[0];
  const summary =
    first === undefined
      ? `order held for every key in ${runs.length} runs`
      : `${violations.length} out-of-order event(s), first: key ${first.key} on partition ${first.partitionId} (${first.workerId}) ${first.previous} then ${first.next}`;
  return result("key-order-violated", violations.length === 0, summary, {
    checked: true,
    runs: runs.length,
    keysChecked,
    violations: violations.slice(0, FIRST_FEW),
  });
}

/** `not-caught-up`: the last sample's checkpoint of every partition reached its last sequence number. */
export function checkCaughtUp(
  samples: readonly CheckpointSample[],
  lastSequenceNumbers: Readonly<Record<string, number>>,
): InvariantResult {
  const final: Record<string, number> = {};
  for (const sample of [...samples].sort((a, b) => a.atMs - b.atMs))
    Object.assign(final, sample.sequenceNumbers);
  const behind = Object.entries(lastSequenceNumbers)
    .filter(([p, last]) => last >= 0 && (final[p] ?? -1) < last)
    .map(([p, last]) => ({ partitionId: p, checkpoint: final[p] ?? null, last }));
  const summary =
    behind.length === 0
      ? `every partition checkpointed up to its last event`
      : `${behind.length} partition(s) behind: ${behind
          .slice(0, 4)
          .map((b) => `${b.partitionId} at ${b.checkpoint ?? "none"} of ${b.last}`)
          .join(", ")}`;
  return result("not-caught-up", behind.length === 0, summary, { behind });
}

function sumBy<T>(items: readonly T[], keyOf: (item: T) => string | undefined, value: (item: T) => number) {
  const sums: Record<string, number> = {};
  for (const item of items) {
    const key = keyOf(item);
    if (key === undefined) continue;
    sums[key] = (sums[key] ?? 0) + value(item);
  }
  return sums;
}

/** `<cause>@<fault index>`, or the bare cause; the key of {@link DuplicateStats.byCause}. */
export function causeLabel(h: AttributedHandover): string {
  return h.faultIndex === undefined ? h.cause : `${h.cause}@${h.faultIndex}`;
}

/** Computes the verdict; see the module comment. */
export function computeVerdict(observations: DrillObservations): Verdict {
  const { settings } = observations;
  const runs = buildRuns(observations.ledgers);
  const bound = duplicateBound(settings);
  const handovers = attributeHandovers(
    findHandovers(runs),
    observations.faults,
    bound.perHandover,
    observations.claims,
  );
  const invariants = [
    checkLost(observations.sent, observations.ledgers),
    checkDuplicates(handovers, bound.perHandover),
    checkCheckpoints(observations.checkpoints),
    checkKeyOrder(runs, settings.ordering !== "none"),
    checkCaughtUp(observations.checkpoints, observations.lastSequenceNumbers),
  ];
  const processed = observations.ledgers.reduce((sum, l) => sum + l.entries.length, 0);
  const distinct = new Set<string>();
  for (const ledger of observations.ledgers) for (const e of ledger.entries) distinct.add(`${e.p}/${e.s}`);
  const failures = invariants.filter((i) => !i.passed);
  return {
    passed: failures.length === 0,
    invariants,
    failures,
    sent: observations.sent.length,
    processed,
    distinctProcessed: distinct.size,
    duplicates: {
      total: handovers.reduce((sum, h) => sum + h.duplicates, 0),
      byPartition: sumBy(
        handovers,
        (h) => h.partitionId,
        (h) => h.duplicates,
      ),
      byCause: sumBy(handovers, causeLabel, (h) => h.duplicates),
      bound,
      handovers,
    },
    runs: runs.length,
  };
}
