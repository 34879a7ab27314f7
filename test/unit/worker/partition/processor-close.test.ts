import { describe, expect, it } from "vitest";
import { PartitionLostError } from "../../../../src/checkpoint/guarded-store.js";
import { waitFor } from "../../../helpers/wait-for.js";
import { events, type GatedHandler, harness, settled, written } from "../../processor/harness.js";
import { ownershipRequest } from "../../processor/memory-store.js";

describe("PartitionProcessor close", () => {
  it("OwnershipLost aborts in-flight handlers, drops the queue and writes nothing", async () => {
    const { processor, handler, inner, store } = await harness({
      processing: { ordering: "partition", checkpointEvery: 100 },
    });
    const gated = handler as GatedHandler;
    await processor.enqueue(events(0, 5));
    gated.release(0, 1);
    await waitFor(() => gated.ends.length === 2);
    await processor.close("OwnershipLost");
    expect(gated.starts.at(-1)?.signal.aborted).toBe(true);
    expect(processor.status()).toMatchObject({ state: "lost", queued: 0 });
    gated.release(2, 3, 4);
    await waitFor(() => processor.status().inFlight === 0);
    expect(written(inner)).toEqual([]);
    expect(store.owns("0")).toBe(false);
  });

  it("a loss the store finds (another owner listed) aborts at once and makes the next enqueue throw", async () => {
    const { processor, handler, inner, store } = await harness({
      processing: { ordering: "partition", checkpointEvery: 100 },
    });
    const gated = handler as GatedHandler;
    await processor.enqueue(events(0, 3));
    await waitFor(() => gated.starts.length === 1);
    const etag = inner.ownerships.get("0")?.etag;
    await inner.claimOwnership([ownershipRequest("0", "thief", etag)]);
    await store.listOwnership("ns", "hub", "$default");
    expect(gated.starts[0]?.signal.aborted).toBe(true);
    expect(processor.status()).toMatchObject({ state: "lost", queued: 0 });
    const error = await processor.enqueue(events(3, 2)).catch((e: unknown) => e);
    // What the SDK's PartitionPump needs to close with OwnershipLost and stop receiving.
    expect(error).toBeInstanceOf(PartitionLostError);
    expect((error as PartitionLostError).code).toBe("ReceiverDisconnectedError");
    expect((error as { retryable?: unknown }).retryable).toBe(false);
    // An empty batch (the SDK's maxWaitTime passing) also throws, so an idle partition stops too.
    await expect(processor.enqueue([])).rejects.toBeInstanceOf(PartitionLostError);
    gated.release(0, 1, 2, 3, 4);
    await waitFor(() => processor.status().inFlight === 0);
    expect(gated.starts.map((c) => c.seq)).toEqual([0]);
    expect(written(inner)).toEqual([]);
    // The SDK's close that follows is quiet and idempotent.
    expect(await processor.close("OwnershipLost")).toMatchObject({ drained: false });
  });

  it("an enqueue waiting for room rejects when a refused checkpoint shows the partition lost", async () => {
    const { processor, handler, inner } = await harness({
      processing: { ordering: "partition", checkpointEvery: 1 },
      windowSize: 2,
    });
    const gated = handler as GatedHandler;
    const etag = inner.ownerships.get("0")?.etag;
    await inner.claimOwnership([ownershipRequest("0", "thief", etag)]);
    const pending = processor.enqueue(events(0, 6));
    const outcome = pending.catch((e: unknown) => e);
    expect(await settled(pending)).toBe(false);
    // Event 0 completes; its checkpoint write reads the ownership blob and finds the thief.
    gated.release(0);
    expect(await outcome).toBeInstanceOf(PartitionLostError);
    expect(processor.status().state).toBe("lost");
    expect(written(inner)).toEqual([]);
    expect(gated.starts.map((c) => c.seq)).toEqual([0, 1]);
  });

  it("a checkpoint refused because the partition is not held stops the partition too", async () => {
    const { processor, handler, inner, store } = await harness({
      processing: { ordering: "partition", checkpointEvery: 1 },
    });
    const gated = handler as GatedHandler;
    // Dropped without telling the processor, as a loss recorded by another path would be.
    store.markLost("0");
    await processor.enqueue(events(0, 3));
    gated.release(0);
    await waitFor(() => processor.status().state === "lost");
    await expect(processor.enqueue(events(3, 1))).rejects.toBeInstanceOf(PartitionLostError);
    expect(written(inner)).toEqual([]);
  });

  it("Shutdown drains in-flight and queued events, then writes a final checkpoint", async () => {
    const { processor, handler, inner } = await harness({
      processing: { ordering: "partition", checkpointEvery: 100 },
    });
    const gated = handler as GatedHandler;
    await processor.enqueue(events(0, 4));
    const closing = processor.close("Shutdown");
    expect(await settled(closing)).toBe(false);
    // New work is refused while draining.
    await processor.enqueue(events(4, 1));
    gated.release(0, 1, 2, 3);
    const result = await closing;
    expect(result.drained).toBe(true);
    expect(written(inner)).toEqual([3]);
    expect(gated.starts.map((c) => c.seq)).toEqual([0, 1, 2, 3]);
    expect(processor.status().state).toBe("closed");
  });

  it("Shutdown lets the SDK's waiting batch go: events still outside the window never run", async () => {
    const { processor, handler, inner } = await harness({
      processing: { concurrency: 2, checkpointEvery: 100 },
      windowSize: 3,
    });
    const gated = handler as GatedHandler;
    const waiting = processor.enqueue(events(0, 6));
    expect(await settled(waiting)).toBe(false);
    const closing = processor.close("Shutdown");
    // The batch's enqueue returns at once; the three events that did not fit are dropped.
    await waitFor(() => settled(waiting));
    gated.release(0, 1, 2);
    const result = await closing;
    expect(result.drained).toBe(true);
    expect(gated.starts.map((c) => c.seq)).toEqual([0, 1, 2]);
    // Tracked but never run: the final checkpoint stops before them.
    expect(written(inner)).toEqual([2]);
  });

  it("at the drain deadline aborts what is left and checkpoints only the finished prefix", async () => {
    const { processor, handler, inner } = await harness({
      processing: { ordering: "none", concurrency: 3, checkpointEvery: 100 },
      drainTimeoutMs: 100,
    });
    const gated = handler as GatedHandler;
    await processor.enqueue(events(0, 3));
    gated.release(0, 2);
    await waitFor(() => gated.ends.length === 2);
    const result = await processor.close("Shutdown");
    expect(result.drained).toBe(false);
    expect(written(inner)).toEqual([0]);
    expect(gated.starts.find((c) => c.seq === 1)?.signal.aborted).toBe(true);
    // The handler that ignored its signal finishes later: nothing more is written.
    gated.release(1);
    await waitFor(() => gated.ends.length === 3);
    expect(written(inner)).toEqual([0]);
  });
});
