import { describe, expect, it } from "vitest";
import type { EventHandler } from "../../../../src/handlers/contract.js";
import { createPipeline } from "../../../../src/handlers/pipeline.js";
import { waitFor } from "../../../helpers/wait-for.js";
import { deferred, events, GatedHandler, harness, settled, written } from "../../processor/harness.js";

describe("PartitionProcessor ordering", () => {
  it("runs one event at a time, in sequence order, under partition ordering", async () => {
    const { processor, handler } = await harness({ processing: { ordering: "partition", concurrency: 8 } });
    const gated = handler as GatedHandler;
    gated.autoRelease = true;
    await processor.enqueue(events(0, 20));
    await waitFor(() => gated.ends.length === 20);
    expect(gated.maxRunning).toBe(1);
    expect(gated.ends).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("keeps per-key order and runs different keys in parallel under key ordering", async () => {
    const { processor, handler } = await harness({
      processing: { ordering: "key", concurrency: 8 },
      windowSize: 32,
    });
    const gated = handler as GatedHandler;
    await processor.enqueue(events(0, 12, (seq) => `k${seq % 3}`));
    // One event per key may start: 0, 1, 2.
    await waitFor(() => gated.starts.length === 3);
    expect(gated.starts.map((c) => c.seq)).toEqual([0, 1, 2]);
    // Release in reverse order; each key must still go in sequence order.
    for (let seq = 11; seq >= 0; seq -= 1) gated.release(seq);
    await waitFor(() => gated.ends.length === 12);
    expect(gated.keyOverlap).toBe(false);
    for (const k of ["k0", "k1", "k2"]) {
      const seqs = gated.starts.filter((c) => c.key === k).map((c) => c.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect(gated.maxRunning).toBe(3);
  });

  it("bounds parallel events by concurrency under none ordering", async () => {
    const { processor, handler } = await harness({ processing: { ordering: "none", concurrency: 3 } });
    const gated = handler as GatedHandler;
    void processor.enqueue(events(0, 10));
    await waitFor(() => gated.starts.length === 3);
    gated.release(...Array.from({ length: 10 }, (_, i) => i));
    await waitFor(() => gated.ends.length === 10);
    expect(gated.maxRunning).toBe(3);
  });
});

describe("PartitionProcessor backpressure", () => {
  it("returns at once while the window has room and awaits only when it is full", async () => {
    const { processor, handler } = await harness({ processing: { concurrency: 2 }, windowSize: 4 });
    const gated = handler as GatedHandler;
    expect(await settled(processor.enqueue(events(0, 3)))).toBe(true);
    const full = processor.enqueue(events(3, 3));
    expect(await settled(full)).toBe(false);
    expect(processor.status()).toMatchObject({ inFlight: 2, queued: 2 });
    gated.release(0);
    // One slot freed: event 4 joins and the window is full again.
    await waitFor(
      () => processor.status().queued + processor.status().inFlight === 4 && gated.ends.length === 1,
    );
    expect(await settled(full)).toBe(false);
    gated.release(1);
    // Event 5 joins; the batch is in, but the window is full, so the SDK must still wait.
    await waitFor(() => gated.ends.length === 2);
    expect(await settled(full)).toBe(false);
    gated.release(2);
    await waitFor(() => settled(full));
    gated.release(3, 4, 5);
    await waitFor(() => gated.ends.length === 6);
  });
});

describe("PartitionProcessor default window", () => {
  it("holds two whole batches behind the running events, so the SDK may receive the next ones", async () => {
    const { processor, handler } = await harness({ processing: { concurrency: 4, maxBatchSize: 10 } });
    const gated = handler as GatedHandler;
    // 4 running and 16 queued leave room: the SDK gets control back while two batches wait.
    expect(await settled(processor.enqueue(events(0, 10)))).toBe(true);
    expect(await settled(processor.enqueue(events(10, 10)))).toBe(true);
    expect(processor.status()).toMatchObject({ inFlight: 4, queued: 16 });
    // The window is concurrency + 2 × maxBatchSize = 24: the third batch fills it and waits.
    const third = processor.enqueue(events(20, 10));
    expect(await settled(third)).toBe(false);
    expect(processor.status()).toMatchObject({ inFlight: 4, queued: 20 });
    gated.release(...Array.from({ length: 30 }, (_, i) => i));
    await waitFor(() => gated.ends.length === 30);
    expect(await settled(third)).toBe(true);
  });
});

describe("PartitionProcessor backpressure under partition ordering", () => {
  it("counts each event of a run towards the window", async () => {
    const { processor, handler } = await harness({ processing: { ordering: "partition" }, windowSize: 4 });
    const gated = handler as GatedHandler;
    const full = processor.enqueue(events(0, 6));
    expect(await settled(full)).toBe(false);
    expect(processor.status()).toMatchObject({ inFlight: 1, queued: 5 });
    gated.release(0, 1);
    // Four events left pending: still full.
    await waitFor(() => gated.ends.length === 2);
    expect(await settled(full)).toBe(false);
    gated.release(2);
    await waitFor(() => settled(full));
    gated.release(3, 4, 5);
    await waitFor(() => gated.ends.length === 6);
  });
});

describe("PartitionProcessor checkpoints", () => {
  it("never checkpoints past an event that is still running", async () => {
    const { processor, handler, inner } = await harness({ processing: { concurrency: 3 } });
    const gated = handler as GatedHandler;
    await processor.enqueue(events(0, 3));
    gated.release(1, 2);
    await waitFor(() => gated.ends.length === 2);
    expect(written(inner)).toEqual([]);
    gated.release(0);
    await waitFor(() => written(inner).at(-1) === 2);
    expect(processor.status().lastCheckpoint).toEqual({ sequenceNumber: 2, offset: "200" });
  });

  it("checkpoints every N completions", async () => {
    const { processor, handler, inner } = await harness({
      processing: { ordering: "partition", checkpointEvery: 5 },
    });
    (handler as GatedHandler).autoRelease = true;
    // Two batches, the second after the first checkpoint: a write takes a few store round trips,
    // and completions during it would be coalesced into it.
    await processor.enqueue(events(0, 5));
    await waitFor(() => written(inner).at(-1) === 4);
    await processor.enqueue(events(5, 5));
    await waitFor(() => written(inner).at(-1) === 9);
    expect(written(inner)).toEqual([4, 9]);
  });

  it("checkpoints within a run of one batch as its events finish", async () => {
    const { processor, handler, inner } = await harness({
      processing: { ordering: "partition", checkpointEvery: 2 },
    });
    const gated = handler as GatedHandler;
    await processor.enqueue(events(0, 6));
    gated.release(0, 1, 2, 3);
    await waitFor(() => written(inner).at(-1) === 3);
    // Event 4 is still running: the run goes on, the checkpoint does not pass it.
    expect(gated.starts.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(processor.status()).toMatchObject({ inFlight: 1, queued: 1, processed: 4 });
    gated.release(4, 5);
    await waitFor(() => written(inner).at(-1) === 5);
  });

  it("after a write, waits for N more completions rather than writing the few finished during it", async () => {
    const { processor, handler, inner } = await harness({
      processing: { ordering: "partition", checkpointEvery: 5, checkpointIntervalMs: 60_000 },
      windowSize: 16,
    });
    const gated = handler as GatedHandler;
    let release: () => void = () => {};
    inner.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await processor.enqueue(events(0, 12));
    gated.release(0, 1, 2, 3, 4, 5, 6);
    // The write at 4 is held; events 5 and 6 finish meanwhile.
    await waitFor(() => gated.ends.length === 7);
    inner.gate = undefined;
    release();
    await waitFor(() => written(inner).length === 1);
    gated.release(7, 8);
    await waitFor(() => gated.ends.length === 9);
    expect(written(inner)).toEqual([4]);
    gated.release(9);
    await waitFor(() => written(inner).at(-1) === 9);
    expect(written(inner)).toEqual([4, 9]);
    gated.release(10, 11);
  });

  it("checkpoints new progress after T ms when fewer than N completed", async () => {
    const { processor, handler, inner } = await harness({
      processing: { checkpointEvery: 1000, checkpointIntervalMs: 100 },
    });
    (handler as GatedHandler).autoRelease = true;
    await processor.enqueue(events(0, 3));
    await waitFor(() => written(inner).at(-1) === 2, { timeoutMs: 3000 });
  });

  it("retries a failed write at the next opportunity", async () => {
    const { processor, handler, inner } = await harness({ processing: { ordering: "partition" } });
    const gated = handler as GatedHandler;
    inner.failWrites = Object.assign(new Error("busy"), { statusCode: 503 });
    await processor.enqueue(events(0, 2));
    gated.release(0);
    await waitFor(() => gated.ends.length === 1);
    inner.failWrites = undefined;
    gated.release(1);
    await waitFor(() => written(inner).at(-1) === 1, { timeoutMs: 3000 });
  });

  it("keeps at most one write in flight and coalesces the rest", async () => {
    const { processor, handler, inner } = await harness({ processing: { ordering: "partition" } });
    let release: () => void = () => {};
    inner.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    (handler as GatedHandler).autoRelease = true;
    await processor.enqueue(events(0, 10));
    await waitFor(() => (handler as GatedHandler).ends.length === 10);
    release();
    await waitFor(() => written(inner).at(-1) === 9);
    expect(written(inner)).toEqual([0, 9]);
  });
});

describe("PartitionProcessor failures", () => {
  it("gives each event its own attempts", async () => {
    const handler = new GatedHandler();
    handler.autoRelease = true;
    const failuresLeft = new Map([
      [1, 2],
      [3, 2],
    ]);
    handler.onCall = (call) => {
      const left = failuresLeft.get(call.seq) ?? 0;
      if (left > 0) {
        failuresLeft.set(call.seq, left - 1);
        throw new Error(`transient ${call.seq}`);
      }
    };
    const { processor, inner, exhausted } = await harness({
      handler,
      processing: { ordering: "none", maxAttempts: 3 },
    });
    await processor.enqueue(events(0, 5));
    await waitFor(() => written(inner).at(-1) === 4);
    expect(exhausted).toEqual([]);
    const attempts = (seq: number) => handler.starts.filter((c) => c.seq === seq).map((c) => c.attempt);
    expect(attempts(1)).toEqual([1, 2, 3]);
    expect(attempts(3)).toEqual([1, 2, 3]);
    expect(attempts(0)).toEqual([1]);
    expect(processor.status()).toMatchObject({ processed: 5, failed: 0, state: "running" });
  });

  it("stops the partition after the last attempt, never checkpointing past the failed event", async () => {
    const handler = new GatedHandler();
    handler.autoRelease = true;
    handler.onCall = (call) => {
      if (call.seq === 2) throw "poison"; // a non-Error value: must be wrapped
    };
    const { processor, inner, exhausted } = await harness({
      handler,
      processing: { ordering: "partition", maxAttempts: 2 },
    });
    // The window has room for the whole batch, so this first call returns at once.
    await processor.enqueue(events(0, 5));
    await waitFor(() => processor.status().state === "stopped");
    expect(exhausted).toHaveLength(1);
    expect(exhausted[0]?.seq).toBe(2);
    expect(exhausted[0]?.attempts).toBe(2);
    expect(exhausted[0]?.error).toBeInstanceOf(Error);
    expect(handler.starts.filter((c) => c.seq > 2)).toEqual([]);
    // The SDK's next processEvents stays pending until close: it must fetch nothing more.
    const next = processor.enqueue(events(5, 1));
    expect(await settled(next)).toBe(false);
    expect(processor.status()).toMatchObject({ processed: 2, failed: 1, queued: 0, inFlight: 0 });
    const result = await processor.close("Shutdown");
    expect(result.drained).toBe(true);
    expect(Math.max(...written(inner))).toBe(1);
    await waitFor(() => settled(next));
  });

  it("counts an event the failure handler resolved as complete", async () => {
    const handler = new GatedHandler();
    handler.autoRelease = true;
    handler.onCall = (call) => {
      if (call.seq === 1) throw new Error("bad event");
    };
    const { processor, inner } = await harness({
      handler,
      processing: { ordering: "partition", maxAttempts: 1 },
      failureHandler: { onExhausted: async () => "resolved" },
    });
    await processor.enqueue(events(0, 3));
    await waitFor(() => written(inner).at(-1) === 2);
    expect(processor.status()).toMatchObject({ state: "running", processed: 2, failed: 1 });
  });

  it("fails an attempt that exceeds the handler time limit", async () => {
    const handler = new GatedHandler();
    const { processor, exhausted } = await harness({
      handler,
      processing: { ordering: "partition", maxAttempts: 2, handlerTimeoutMs: 30 },
    });
    await processor.enqueue(events(0, 1));
    await waitFor(() => exhausted.length === 1);
    expect(handler.starts.map((c) => c.attempt)).toEqual([1, 2]);
    expect(handler.starts[0]?.signal.aborted).toBe(true);
    expect(exhausted[0]?.error.message).toContain("timed out after 30 ms");
  });
});

describe("PartitionProcessor batch pipelines", () => {
  it("runs the events of one SDK batch as one unit", async () => {
    const calls: number[][] = [];
    const batchHandler: EventHandler = {
      async handleBatch(batch) {
        calls.push(batch.map((e) => e.sequenceNumber));
      },
    };
    const pipeline = createPipeline("bulk", [{ name: "bulk", handler: batchHandler }]);
    const { processor, inner } = await harness({ pipeline, processing: { ordering: "partition" } });
    await processor.enqueue(events(0, 4));
    await processor.enqueue(events(4, 2));
    await waitFor(() => written(inner).at(-1) === 5);
    expect(calls).toEqual([
      [0, 1, 2, 3],
      [4, 5],
    ]);
  });

  it("holds SDK batches back by their events, not by their count, while a batch handler is slow", async () => {
    const first = deferred();
    const pipeline = createPipeline("bulk", [
      { name: "bulk", handler: { handleBatch: () => first.promise } },
    ]);
    // Window 4 + 2 × 10 = 24 events: the first batch runs, the second waits, the third fills the
    // window, so the SDK must wait before it receives a fourth.
    const { processor } = await harness({
      pipeline,
      processing: { ordering: "partition", concurrency: 4, maxBatchSize: 10 },
    });
    for (let batch = 0; batch < 2; batch += 1) {
      expect(await settled(processor.enqueue(events(batch * 10, 10)))).toBe(true);
    }
    const third = processor.enqueue(events(20, 10));
    expect(await settled(third)).toBe(false);
    expect(processor.status()).toMatchObject({ inFlight: 10, queued: 20 });
    first.resolve();
    await waitFor(() => settled(third));
  });

  it("runs thousands of queued units whose handlers return synchronously one after another, in key order", async () => {
    const calls: number[] = [];
    const first = deferred();
    const pipeline = createPipeline("bulk", [
      {
        name: "bulk",
        handler: {
          handleBatch(batch) {
            calls.push(...batch.map((e) => e.sequenceNumber));
            // The first holds the rest back until all are queued; the others return synchronously.
            return batch[0]?.sequenceNumber === 0 ? first.promise : undefined;
          },
        },
      },
    ]);
    // Each event has its own key, so each is its own unit; one at a time, all queued at once.
    const total = 5000;
    const { processor, inner } = await harness({
      pipeline,
      processing: { ordering: "key", concurrency: 1, checkpointEvery: total },
      windowSize: total + 1,
    });
    await processor.enqueue(events(0, total, (seq) => `k${seq}`));
    expect(calls).toEqual([0]);
    first.resolve();
    await waitFor(() => written(inner).at(-1) === total - 1);
    expect(processor.status()).toMatchObject({ state: "running", processed: total, failed: 0 });
    expect(calls).toEqual(Array.from({ length: total }, (_, i) => i));
  });
});
