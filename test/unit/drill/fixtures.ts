/** Hand-made drill observations for the pure drill tests. */

import type {
  CheckpointSample,
  DrillObservations,
  FaultRecord,
  OwnershipSample,
  SentEvent,
  WorkerLedger,
} from "../../../src/drill/types.js";
import type { LedgerEntry } from "../../../src/handlers/builtins/ledger.js";

/** A ledger entry; the id is `p * 1000 + s` so ids and positions map one to one. */
export function entry(p: string, s: number, w: string, t: number, k: string | null = null): LedgerEntry {
  return { p, s, o: String(s * 10), k, id: Number(p) * 1000 + s, w, t };
}

/** Sent events for sequence numbers 0..count-1 of each partition. */
export function sentFor(partitions: Record<string, number>, keyOf?: (s: number) => string): SentEvent[] {
  return Object.entries(partitions).flatMap(([p, count]) =>
    Array.from({ length: count }, (_, s) => ({
      id: Number(p) * 1000 + s,
      partitionId: p,
      key: keyOf?.(s) ?? null,
    })),
  );
}

/** Entries for sequence numbers [from, to] of one partition by one worker, 10 ms apart from `t0`. */
export function span(
  p: string,
  from: number,
  to: number,
  w: string,
  t0: number,
  keyOf?: (s: number) => string,
): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  for (let s = from; s <= to; s++) out.push(entry(p, s, w, t0 + (s - from) * 10, keyOf?.(s) ?? null));
  return out;
}

/** One worker's ledger. */
export function ledger(workerId: string, ...parts: LedgerEntry[][]): WorkerLedger {
  return { workerId, entries: parts.flat() };
}

/** A checkpoint sample. */
export function ckpt(atMs: number, sequenceNumbers: Record<string, number>): CheckpointSample {
  return { atMs, sequenceNumbers };
}

/** An ownership sample. */
export function owners(atMs: number, map: Record<string, string>): OwnershipSample {
  return { atMs, owners: map };
}

/** A kill fault. */
export function kill(index: number, atMs: number, victim: string, victimPartitions: string[]): FaultRecord {
  return { index, kind: "kill", atMs, doneAtMs: atMs + 5, victim, victimPartitions };
}

/** A SIGTERM fault. */
export function term(index: number, atMs: number, victim: string, victimPartitions: string[]): FaultRecord {
  return { index, kind: "term", atMs, doneAtMs: atMs + 500, victim, victimPartitions };
}

/**
 * A clean two-partition drill: w1 processes partition 0 (0..199) and partition 1 (0..99) and is
 * killed at t=3000 owning both; w2 takes both over, partition 1 from checkpoint 89, and processes
 * 90..199 of it (10 duplicates, within the bound 2 × 10 + 5 = 25). Partition 0 was done: idle.
 */
export function cleanObservations(overrides: Partial<DrillObservations> = {}): DrillObservations {
  return {
    sent: sentFor({ "0": 200, "1": 200 }),
    ledgers: [
      ledger("w1", span("0", 0, 199, "w1", 1000), span("1", 0, 99, "w1", 1000)),
      ledger("w2", span("1", 90, 199, "w2", 15_000)),
    ],
    faults: [kill(0, 3000, "w1", ["0", "1"])],
    checkpoints: [
      ckpt(2000, { "0": 99, "1": 89 }),
      ckpt(14_000, { "0": 199, "1": 89 }),
      ckpt(20_000, { "0": 199, "1": 199 }),
    ],
    ownerships: [owners(2000, { "0": "w1", "1": "w1" }), owners(14_500, { "0": "w2", "1": "w2" })],
    lastSequenceNumbers: { "0": 199, "1": 199 },
    settings: { checkpointEvery: 10, concurrency: 1, ordering: "partition", maxBatchSize: 5 },
    ...overrides,
  };
}
