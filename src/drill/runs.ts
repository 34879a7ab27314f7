/**
 * Processing runs: where in the ledgers a partition's processing (re)started. A run is a stretch of
 * one worker's ledger for one partition in which no sequence number repeats. A failover, a
 * rebalance or a reconnect that resumes from the checkpoint legitimately goes back to an earlier
 * sequence number, so order and duplicates are judged per run and per hand-over between runs.
 */
import type { LedgerEntry } from "../handlers/builtins/ledger.js";
import type { WorkerLedger } from "./types.js";

/** One contiguous processing run of one worker on one partition. */
export interface ProcessingRun {
  /** Unique within one {@link buildRuns} result, in creation order. */
  readonly id: number;
  readonly workerId: string;
  readonly partitionId: string;
  /** Entries in the worker's append order. */
  readonly entries: LedgerEntry[];
  /** Time of the first entry, epoch milliseconds. */
  startMs: number;
  /** Time of the last entry, epoch milliseconds. */
  endMs: number;
}

/** Options of {@link buildRuns}. */
export interface BuildRunsOptions {
  /**
   * A pause longer than this (milliseconds) in one worker's processing of a partition, during
   * which another worker processed it, ends the run: the worker lost the partition and got it back.
   * Default 1000.
   */
  readonly gapMs?: number;
}

interface OtherActivity {
  /** Entry times of every worker on the partition, sorted, with their worker. */
  readonly times: Array<{ t: number; w: string }>;
}

/** Whether a worker other than `workerId` processed the partition strictly between `from` and `to`. */
function otherWorkerBetween(activity: OtherActivity, workerId: string, from: number, to: number): boolean {
  const { times } = activity;
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((times[mid] as { t: number }).t <= from) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < times.length; i++) {
    const item = times[i] as { t: number; w: string };
    if (item.t >= to) return false;
    if (item.w !== workerId) return true;
  }
  return false;
}

function activityByPartition(ledgers: readonly WorkerLedger[]): Map<string, OtherActivity> {
  const map = new Map<string, OtherActivity>();
  for (const ledger of ledgers) {
    for (const entry of ledger.entries) {
      let activity = map.get(entry.p);
      if (activity === undefined) {
        activity = { times: [] };
        map.set(entry.p, activity);
      }
      activity.times.push({ t: entry.t, w: ledger.workerId });
    }
  }
  for (const activity of map.values()) activity.times.sort((a, b) => a.t - b.t);
  return map;
}

/**
 * Splits every ledger into runs per partition. A new run starts at an entry whose sequence number
 * the current run already holds (processing went back to an earlier checkpoint), or after a pause
 * of more than `gapMs` in which another worker processed the partition.
 */
export function buildRuns(ledgers: readonly WorkerLedger[], options: BuildRunsOptions = {}): ProcessingRun[] {
  const gapMs = options.gapMs ?? 1000;
  const activity = activityByPartition(ledgers);
  const runs: ProcessingRun[] = [];
  for (const ledger of ledgers) {
    const current = new Map<string, { run: ProcessingRun; seen: Set<number> }>();
    for (const entry of ledger.entries) {
      const open = current.get(entry.p);
      const restart =
        open !== undefined &&
        (open.seen.has(entry.s) ||
          (entry.t - open.run.endMs > gapMs &&
            otherWorkerBetween(
              activity.get(entry.p) as OtherActivity,
              ledger.workerId,
              open.run.endMs,
              entry.t,
            )));
      if (open === undefined || restart) {
        const run: ProcessingRun = {
          id: runs.length,
          workerId: ledger.workerId,
          partitionId: entry.p,
          entries: [entry],
          startMs: entry.t,
          endMs: entry.t,
        };
        runs.push(run);
        current.set(entry.p, { run, seen: new Set([entry.s]) });
        continue;
      }
      open.run.entries.push(entry);
      open.seen.add(entry.s);
      open.run.startMs = Math.min(open.run.startMs, entry.t);
      open.run.endMs = Math.max(open.run.endMs, entry.t);
    }
  }
  return runs;
}

/**
 * A hand-over from one run to a later one on the same partition, and how many events the later one
 * processed again that the earlier one had processed.
 */
export interface Handover {
  readonly partitionId: string;
  /**
   * The run that had processed the duplicated events before (the previous processing of each);
   * for a run without duplicates, the latest run to end by its start. Undefined for none.
   */
  readonly from: ProcessingRun | undefined;
  readonly to: ProcessingRun;
  /** Events of `to` whose previous processing was in `from` (extra processings). */
  readonly duplicates: number;
  /** Up to 5 duplicated sequence numbers, for messages. */
  readonly sampleSequenceNumbers: readonly number[];
}

/**
 * Extra processings: for each (p, s), every occurrence after the first in time order, keyed by the
 * run it landed in and then by the run of the occurrence just before it.
 */
function duplicatesPerRun(runs: readonly ProcessingRun[]): Map<number, Map<number, number[]>> {
  const occurrences = new Map<string, Map<number, Array<{ t: number; run: number }>>>();
  for (const run of runs) {
    let bySeq = occurrences.get(run.partitionId);
    if (bySeq === undefined) {
      bySeq = new Map();
      occurrences.set(run.partitionId, bySeq);
    }
    for (const entry of run.entries) {
      const list = bySeq.get(entry.s);
      if (list === undefined) bySeq.set(entry.s, [{ t: entry.t, run: run.id }]);
      else list.push({ t: entry.t, run: run.id });
    }
  }
  const perRun = new Map<number, Map<number, number[]>>();
  for (const bySeq of occurrences.values()) {
    for (const [s, list] of bySeq) {
      if (list.length < 2) continue;
      list.sort((a, b) => a.t - b.t || a.run - b.run);
      for (let i = 1; i < list.length; i++) {
        const later = list[i] as { run: number };
        const earlier = list[i - 1] as { run: number };
        let bySource = perRun.get(later.run);
        if (bySource === undefined) {
          bySource = new Map();
          perRun.set(later.run, bySource);
        }
        const seqs = bySource.get(earlier.run);
        if (seqs === undefined) bySource.set(earlier.run, [s]);
        else seqs.push(s);
      }
    }
  }
  return perRun;
}

/** The run on the same partition that most plausibly handed over to `run`. */
function predecessor(run: ProcessingRun, samePartition: readonly ProcessingRun[]): ProcessingRun | undefined {
  let best: ProcessingRun | undefined;
  for (const other of samePartition) {
    if (other === run || other.startMs > run.startMs) continue;
    if (other.startMs === run.startMs && other.id > run.id) continue;
    // Prefer the run that ended last before this one began; overlapping runs (a steal while the
    // loser still finishes its window) count by their end too.
    if (best === undefined || other.endMs > best.endMs) best = other;
  }
  return best;
}

/**
 * The hand-overs of every partition: for each run with duplicates, one per run that had processed
 * them before (a run may redo the leftovers of an older steal as well as its predecessor's work,
 * and each is judged on its own); for each later run without duplicates, one from its predecessor.
 */
export function findHandovers(runs: readonly ProcessingRun[]): Handover[] {
  const byPartition = new Map<string, ProcessingRun[]>();
  for (const run of runs) {
    const list = byPartition.get(run.partitionId);
    if (list === undefined) byPartition.set(run.partitionId, [run]);
    else list.push(run);
  }
  const byId = new Map(runs.map((run) => [run.id, run]));
  const dups = duplicatesPerRun(runs);
  const handovers: Handover[] = [];
  for (const list of byPartition.values()) {
    list.sort((a, b) => a.startMs - b.startMs || a.id - b.id);
    list.forEach((run, i) => {
      const bySource = dups.get(run.id);
      if (bySource === undefined) {
        // The first run of a partition is no hand-over.
        if (i > 0) {
          handovers.push({
            partitionId: run.partitionId,
            from: predecessor(run, list),
            to: run,
            duplicates: 0,
            sampleSequenceNumbers: [],
          });
        }
        return;
      }
      for (const [source, seqs] of bySource) {
        seqs.sort((a, b) => a - b);
        handovers.push({
          partitionId: run.partitionId,
          from: byId.get(source),
          to: run,
          duplicates: seqs.length,
          sampleSequenceNumbers: seqs.slice(0, 5),
        });
      }
    });
  }
  return handovers.sort((a, b) => a.to.startMs - b.to.startMs);
}
