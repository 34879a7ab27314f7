import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../helpers/wait-for.js";
import {
  checkpointsOf,
  ledgerWorkerEnv,
  ownersOf,
  readLedger,
  sendToPartitions,
  startWorker,
  useWorkerTests,
  waitForIds,
} from "./support.js";

const PARTITIONS = ["0", "1", "2", "3", "4", "5", "6", "7"];
const tests = useWorkerTests();
const { workers } = tests;

describe("ehw run, a second worker joining without cooperative hand-over", () => {
  // Hand-over off on both: the steal path (what a plain SDK peer does) is what this test is about.
  it("takes half the partitions; the first treats the loss as rebalancing and never writes their checkpoints again", async () => {
    const { hubName, containerName, containerClient, dir } = await tests.fresh(8);
    const ledgerA = join(dir, "a.jsonl");
    const ledgerB = join(dir, "b.jsonl");
    const a = await startWorker(
      "worker-a",
      ledgerWorkerEnv(hubName, containerName, ledgerA, {
        EHW_STRATEGY: "greedy",
        EHW_LOG_LEVEL: "debug",
        EHW_HANDOVER: "false",
      }),
    );
    workers.push(a);
    await waitFor(() => a.held().size === 8, { timeoutMs: 30_000, what: "A owning all eight" });
    await sendToPartitions(hubName, PARTITIONS, 20);
    await waitForIds([ledgerA], 160);
    await waitFor(
      async () => {
        const checkpoints = await checkpointsOf(containerClient, hubName);
        return PARTITIONS.every((p) => checkpoints.get(p)?.sequenceNumber === 19);
      },
      { timeoutMs: 20_000, intervalMs: 250, what: "A's checkpoints at 19" },
    );

    const b = await startWorker(
      "worker-b",
      ledgerWorkerEnv(hubName, containerName, ledgerB, { EHW_HANDOVER: "false" }),
    );
    workers.push(b);
    await waitFor(
      async () => {
        const owners = await ownersOf(containerClient, hubName);
        const count = (id: string) => [...owners.values()].filter((o) => o === id).length;
        return count(a.ownerId) === 4 && count(b.ownerId) === 4;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "four partitions each" },
    );
    await waitFor(() => a.held().size === 4 && b.held().size === 4, {
      timeoutMs: 30_000,
      what: "receivers moved",
    });
    const lost = a.logs.filter((l) => l.msg === "partition lost to another worker").map((l) => l.partitionId);
    expect(new Set(lost)).toEqual(b.held());
    // Stealing is normal rebalancing: reported at info, never as an error.
    const takenOver = a.logs.filter((l) => l.msg === "partition taken over by another worker");
    expect(takenOver.length).toBeGreaterThan(0);
    expect(takenOver.every((l) => l.level === 30)).toBe(true);

    await sendToPartitions(hubName, PARTITIONS, 15, (p, n) => ({ properties: { id: `${p}-w2-${n}` } }));
    await waitForIds([ledgerA, ledgerB], 160 + 120);
    await waitFor(
      async () => {
        const checkpoints = await checkpointsOf(containerClient, hubName);
        return PARTITIONS.every((p) => checkpoints.get(p)?.sequenceNumber === 34);
      },
      { timeoutMs: 20_000, intervalMs: 250, what: "every checkpoint at 34" },
    );
    // After its loss line, A wrote no checkpoint for that partition.
    for (const partitionId of lost) {
      const lostAt = a.logs.findIndex(
        (l) => l.msg === "partition lost to another worker" && l.partitionId === partitionId,
      );
      const later = a.logs
        .slice(lostAt)
        .filter((l) => l.msg === "checkpoint written" && l.partitionId === partitionId);
      expect(later).toEqual([]);
    }
    expect(a.logs.some((l) => l.msg === "checkpoint written")).toBe(true);
    const all = [...(await readLedger(ledgerA)), ...(await readLedger(ledgerB))];
    expect(all).toHaveLength(280);
    const second = all.filter((e) => String(e.id).includes("-w2-"));
    for (const entry of second) {
      const owner = b.held().has(entry.p) ? b.ownerId : a.ownerId;
      expect(entry.w).toBe(owner);
    }
  });
});
