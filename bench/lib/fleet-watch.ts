/**
 * What a load-balancing benchmark observes of a fleet of `ehw run` workers: who owns each
 * partition (the ownership blobs, as BlobCheckpointStore lists them) and who processed what when
 * (the workers' ledger files), plus a trickle of events to every partition so that "processing"
 * can be seen at all.
 */
import { readFile } from "node:fs/promises";
import { EventHubProducerClient, type PartitionOwnership } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import type { ContainerClient } from "@azure/storage-blob";
import { type LedgerEntry, parseLedger } from "../../src/handlers/builtins/ledger.js";

/** Ownership and ledgers of one fleet at one moment. */
export interface FleetView {
  /** Epoch milliseconds of the observation. */
  at: number;
  /** Partition id → owner id, for partitions whose ownership is live (named and not expired). */
  owners: Map<string, string>;
  /** Every ledger entry of the fleet so far. */
  entries: LedgerEntry[];
}

/** Reads ownership blobs and ledger files of one fleet. */
export class FleetWatch {
  private readonly store: BlobCheckpointStore;

  constructor(
    container: ContainerClient,
    private readonly hub: string,
    private readonly expiryMs: number,
    private readonly ledgerFiles: () => readonly string[],
  ) {
    this.store = new BlobCheckpointStore(container);
  }

  /** Live ownerships: an owner id is set and the record was renewed within the expiry. */
  async owners(now = Date.now()): Promise<Map<string, string>> {
    const list: PartitionOwnership[] = await this.store.listOwnership("127.0.0.1", this.hub, "$Default");
    const live = list.filter((o) => o.ownerId !== "" && now - (o.lastModifiedTimeInMs ?? 0) < this.expiryMs);
    return new Map(live.map((o) => [o.partitionId, o.ownerId]));
  }

  async view(): Promise<FleetView> {
    const at = Date.now();
    const entries: LedgerEntry[] = [];
    for (const file of this.ledgerFiles()) {
      const text = await readFile(file, "utf8").catch(() => "");
      entries.push(...parseLedger(text, file));
    }
    return { at, owners: await this.owners(at), entries };
  }
}

/** Per partition, the newest ledger entry at or after `since` (epoch ms). */
export function latestSince(entries: readonly LedgerEntry[], since: number): Map<string, LedgerEntry> {
  const out = new Map<string, LedgerEntry>();
  for (const e of entries) {
    if (e.t < since) continue;
    const seen = out.get(e.p);
    if (seen === undefined || e.t >= seen.t) out.set(e.p, e);
  }
  return out;
}

/** Whether every partition is owned and the owner counts of `workers` differ by at most one. */
export function isBalanced(
  owners: Map<string, string>,
  partitions: number,
  workers: readonly string[],
): boolean {
  if (owners.size !== partitions) return false;
  const counts = workers.map((w) => [...owners.values()].filter((o) => o === w).length);
  const owned = counts.reduce((a, b) => a + b, 0);
  return owned === partitions && Math.max(...counts) - Math.min(...counts) <= 1;
}

/** Whether each partition's newest entry since `since` was processed by its current owner. */
export function ownersProcessing(view: FleetView, partitions: number, since: number): boolean {
  const latest = latestSince(view.entries, since);
  if (latest.size !== partitions) return false;
  return [...latest].every(([p, e]) => view.owners.get(p) === e.w);
}

/** Ids processed more than once across the fleet's ledgers. */
export function duplicateCount(entries: readonly LedgerEntry[]): number {
  const seen = new Set<string>();
  let duplicates = 0;
  for (const e of entries) {
    const key = `${e.p}/${e.s}`;
    if (seen.has(key)) duplicates += 1;
    else seen.add(key);
  }
  return duplicates;
}

/**
 * Per partition that changed hands after `since`: the gap between the last event the old owner
 * processed and the first the new owner processed (ms) — the processing pause of the move.
 */
export function movePauses(entries: readonly LedgerEntry[], since: number): number[] {
  const byPartition = new Map<string, LedgerEntry[]>();
  for (const e of entries) {
    if (e.t < since) continue;
    const list = byPartition.get(e.p) ?? [];
    list.push(e);
    byPartition.set(e.p, list);
  }
  const pauses: number[] = [];
  for (const list of byPartition.values()) {
    list.sort((a, b) => a.t - b.t);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1] as LedgerEntry;
      const next = list[i] as LedgerEntry;
      if (prev.w !== next.w) pauses.push(next.t - prev.t);
    }
  }
  return pauses;
}

/** One event to every partition every `intervalMs` until stopped; ids `<p>-<n>`. */
export function startTrickle(
  connectionString: string,
  hub: string,
  partitions: number,
  intervalMs: number,
): { stop: () => Promise<void> } {
  const producer = new EventHubProducerClient(connectionString, hub);
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const tick = n++;
      await Promise.all(
        Array.from({ length: partitions }, (_, p) =>
          producer.sendBatch([{ body: tick, properties: { id: `${p}-${tick}` } }], {
            partitionId: String(p),
          }),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop.catch(() => undefined);
      await producer.close();
    },
  };
}

/**
 * The log lines of a cooperative hand-over, as src/worker/handover-wiring.ts writes them: the
 * asker's "received" line carries `pauseMs`, from the owner's stop of new events to the claim.
 */
const RECEIVED_BY_HANDOVER = "partition received by hand-over";
const HANDOVER_FELL_BACK = "hand-over not answered; stealing the partition";

/** What workers' logs tell of cooperative hand-overs. */
export interface HandOverLog {
  /** Partitions claimed after their owner released them on request. */
  completed: number;
  /** Pause of each completed hand-over, ms (owner stops taking new events → asker's claim). */
  pausesMs: number[];
  /** Requests not answered in time, which fell back to a steal. */
  fellBack: number;
}

/** The hand-overs in one worker's JSON log text whose line is timed at or after `since` (epoch ms). */
export function handOversIn(text: string, since: number): HandOverLog {
  const out: HandOverLog = { completed: 0, pausesMs: [], fellBack: 0 };
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    let entry: { msg?: unknown; time?: unknown; pauseMs?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    const at = typeof entry.time === "number" ? entry.time : Date.parse(String(entry.time));
    if (!(at >= since)) continue;
    if (entry.msg === RECEIVED_BY_HANDOVER) {
      out.completed += 1;
      // Absent when the owner's release time was not known to the asker.
      if (typeof entry.pauseMs === "number") out.pausesMs.push(entry.pauseMs);
    } else if (entry.msg === HANDOVER_FELL_BACK) out.fellBack += 1;
  }
  return out;
}

/** {@link handOversIn} over several log files; a missing file counts as empty. */
export async function handOversLogged(files: readonly string[], since: number): Promise<HandOverLog> {
  const out: HandOverLog = { completed: 0, pausesMs: [], fellBack: 0 };
  for (const file of files) {
    const one = handOversIn(await readFile(file, "utf8").catch(() => ""), since);
    out.completed += one.completed;
    out.pausesMs.push(...one.pausesMs);
    out.fellBack += one.fellBack;
  }
  return out;
}
