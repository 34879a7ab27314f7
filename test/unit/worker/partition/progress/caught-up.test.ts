import { describe, expect, it } from "vitest";
import { waitFor } from "../../../../helpers/wait-for.js";
import { events, type GatedHandler, harness, written } from "../../../processor/harness.js";

// maxBatchSize 10 (the harness's); N and T so large that only catching up can write in a test.
const SLOW_CHECKPOINTS = { ordering: "none", checkpointEvery: 1000, checkpointIntervalMs: 60_000 } as const;

describe("PartitionProcessor checkpoints when a backlog has drained", () => {
  it("writes at the short batch's end after a full one, without waiting for N or T", async () => {
    const { processor, handler, inner } = await harness({ processing: SLOW_CHECKPOINTS });
    (handler as GatedHandler).autoRelease = true;
    await processor.enqueue(events(0, 10));
    await processor.enqueue(events(10, 10));
    await processor.enqueue(events(20, 4));
    await waitFor(() => written(inner).at(-1) === 23, { timeoutMs: 5000, what: "a checkpoint at 23" });
    expect(written(inner)).toEqual([23]);
  });

  it("writes when an empty batch follows a full one", async () => {
    const { processor, handler, inner } = await harness({ processing: SLOW_CHECKPOINTS });
    const gated = handler as GatedHandler;
    gated.autoRelease = true;
    await processor.enqueue(events(0, 10));
    await waitFor(() => gated.ends.length === 10);
    await processor.enqueue([]);
    await waitFor(() => written(inner).at(-1) === 9, { timeoutMs: 5000, what: "a checkpoint at 9" });
  });

  it("waits for the short batch's last events to complete, and never passes a running one", async () => {
    const { processor, handler, inner } = await harness({
      processing: { ...SLOW_CHECKPOINTS, concurrency: 16 },
    });
    const gated = handler as GatedHandler;
    await processor.enqueue(events(0, 10));
    await processor.enqueue(events(10, 3));
    gated.release(...Array.from({ length: 11 }, (_, i) => i), 12);
    await waitFor(() => gated.ends.length === 12);
    gated.release(11);
    await waitFor(() => written(inner).at(-1) === 12, { timeoutMs: 5000, what: "a checkpoint at 12" });
    // Writes are one at a time, in order: one before 11 completed would come first.
    expect(written(inner)).toEqual([12]);
  });

  it("keeps every-N-or-T under steady low traffic, where every batch is short", async () => {
    const { processor, handler, inner } = await harness({ processing: SLOW_CHECKPOINTS });
    const gated = handler as GatedHandler;
    gated.autoRelease = true;
    for (let from = 0; from < 12; from += 3) await processor.enqueue(events(from, 3));
    await processor.enqueue([]);
    await waitFor(() => gated.ends.length === 12);
    // Then a burst: one full batch and a short one.
    await processor.enqueue(events(12, 10));
    await processor.enqueue(events(22, 1));
    await waitFor(() => written(inner).at(-1) === 22, { timeoutMs: 5000, what: "a checkpoint at 22" });
    // A write for the short batches alone would come first.
    expect(written(inner)).toEqual([22]);
  });
});
