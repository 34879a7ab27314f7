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

describe("ehw run, two processes", () => {
  it("split 8 partitions, process every event once, checkpoint at the last event, and hand over on SIGTERM without duplicates", async () => {
    const { hubName, containerName, containerClient, dir } = await tests.fresh(8);
    const ledgerA = join(dir, "a.jsonl");
    const ledgerB = join(dir, "b.jsonl");
    const [a, b] = await Promise.all([
      startWorker("worker-a", ledgerWorkerEnv(hubName, containerName, ledgerA)),
      startWorker("worker-b", ledgerWorkerEnv(hubName, containerName, ledgerB)),
    ]);
    workers.push(a, b);

    // Balanced: each ends up with four, and together they own all eight.
    await waitFor(
      async () => {
        const owners = await ownersOf(containerClient, hubName);
        const count = (id: string) => [...owners.values()].filter((o) => o === id).length;
        return owners.size === 8 && count(a.ownerId) === 4 && count(b.ownerId) === 4;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "four partitions owned by each worker" },
    );
    await waitFor(() => a.held().size === 4 && b.held().size === 4, {
      timeoutMs: 20_000,
      what: "both receiving",
    });
    expect(new Set([...a.held(), ...b.held()])).toEqual(new Set(PARTITIONS));

    await sendToPartitions(hubName, PARTITIONS, 30, () => ({}));
    await waitForIds([ledgerA, ledgerB], 240);
    const first = [...(await readLedger(ledgerA)), ...(await readLedger(ledgerB))];
    expect(first).toHaveLength(240);
    expect(new Set(first.filter((e) => e.w === a.ownerId).map((e) => e.p))).toEqual(a.held());
    expect(new Set(first.filter((e) => e.w === b.ownerId).map((e) => e.p))).toEqual(b.held());

    // With no more events, the interval rule checkpoints each partition at its last event (29).
    await waitFor(
      async () => {
        const checkpoints = await checkpointsOf(containerClient, hubName);
        return PARTITIONS.every((p) => checkpoints.get(p)?.sequenceNumber === 29);
      },
      { timeoutMs: 20_000, intervalMs: 250, what: "every checkpoint at sequence number 29" },
    );

    // Second wave, then SIGTERM to A while it works: A drains and checkpoints, B takes over.
    const heldByA = a.held();
    await sendToPartitions(hubName, PARTITIONS, 40, (p, n) => ({ properties: { id: `${p}-w2-${n}` } }));
    const exit = await a.child.stop({ timeoutMs: 30_000 });
    expect(exit.code).toBe(0);
    expect(a.logs.some((l) => l.msg === "worker stopped" && l.drained === true)).toBe(true);
    await waitFor(() => b.held().size === 8, { timeoutMs: 30_000, what: "B owning all eight partitions" });
    // A third wave after A left: B reads A's former partitions from A's final checkpoints.
    await sendToPartitions(hubName, PARTITIONS, 10, (p, n) => ({ properties: { id: `${p}-w3-${n}` } }));
    await waitForIds([ledgerA, ledgerB], 240 + 320 + 80);

    const all = [...(await readLedger(ledgerA)), ...(await readLedger(ledgerB))];
    const ids = all.map((e) => String(e.id));
    expect(new Set(ids).size).toBe(640);
    expect(ids.length).toBe(640);
    const w3 = all.filter((e) => String(e.id).includes("-w3-"));
    expect(w3.every((e) => e.w === b.ownerId)).toBe(true);
    expect(new Set(w3.map((e) => e.p))).toEqual(new Set(PARTITIONS));
    expect(heldByA.size).toBe(4);
  });
});
