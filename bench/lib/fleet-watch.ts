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
