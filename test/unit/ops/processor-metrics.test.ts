/** What a PartitionProcessor reports to its observer, read back through WorkerMetrics. */
import { describe, expect, it } from "vitest";
import type { HandlerContext, ReceivedEventData } from "../../../src/handlers/contract.js";
import type { FailureDecision } from "../../../src/handlers/failure.js";
import { createPipeline } from "../../../src/handlers/pipeline.js";
import { WorkerMetrics } from "../../../src/ops/metrics.js";
import { waitFor } from "../../helpers/wait-for.js";
import { events, harness } from "../processor/harness.js";

/** Fails `failTimes` attempts of each sequence number listed, then succeeds. */
function flakyHandler(failTimes: Map<number, number>) {
  return {
    async handle(event: ReceivedEventData, ctx: HandlerContext): Promise<void> {
      if (ctx.attempt <= (failTimes.get(event.sequenceNumber) ?? 0)) throw new Error(`fail ${ctx.attempt}`);
    },
  };
}

async function setup(failTimes = new Map<number, number>(), decision: FailureDecision = "stop") {
  const metrics = new WorkerMetrics({ defaultMetrics: false });
  const { inner, processor } = await harness({
    pipeline: createPipeline("orders", [{ name: "main", handler: flakyHandler(failTimes) }]),
    failureHandler: { onExhausted: async () => decision },
    observer: metrics.partitionClaimed("0"),
  });
  return { inner, metrics, processor, stats: metrics.partition("0") };
}

describe("PartitionProcessor → metrics", () => {
  it("counts received events, lag, processed events, handler attempts and checkpoint writes", async () => {
    const { processor, stats, metrics } = await setup();
    await processor.enqueue(events(0, 5), 9);
    expect(stats.receivedCount).toBe(5);
    expect(stats.lag).toBe(5);
    await waitFor(() => stats.pipelines.get("orders")?.processed === 5, { what: "5 processed" });
    await waitFor(() => stats.checkpointWrites.ok >= 1, { what: "a checkpoint write" });
    await processor.enqueue([], 9);
    expect(stats.lag).toBe(5);
    await processor.enqueue(events(5, 5), 9);
    expect(stats.lag).toBe(0);
    await processor.close("Shutdown");
    const text = await metrics.text();
    expect(text).toContain('ehw_events_received_total{partition="0"} 10');
    expect(stats.pipelines.get("orders")).toMatchObject({ processed: 10, failed: 0, retried: 0 });
  });

  it("skips events received again and counts only fresh ones", async () => {
    const { processor, stats } = await setup();
    await processor.enqueue(events(0, 3));
    await processor.enqueue(events(1, 4));
    expect(stats.receivedCount).toBe(5);
    expect(stats.lastReceivedSequenceNumber).toBe(4);
    await processor.close("Shutdown");
  });

  it("counts retries per event and one duration per attempt", async () => {
    const { processor, stats, metrics } = await setup(new Map([[2, 2]]));
    await processor.enqueue(events(0, 4));
    await waitFor(() => stats.pipelines.get("orders")?.processed === 4, { what: "4 processed" });
    expect(stats.pipelines.get("orders")?.retried).toBe(2);
    const text = await metrics.text();
    expect(text).toContain('ehw_handler_duration_seconds_count{pipeline="orders"} 6');
    await processor.close("Shutdown");
  });

  it("counts an exhausted event as failed, and as dead-lettered when the failure handler resolves it", async () => {
    const stopped = await setup(new Map([[1, 99]]), "stop");
    await stopped.processor.enqueue(events(0, 1));
    void stopped.processor.enqueue(events(1, 1));
    await waitFor(() => stopped.stats.pipelines.get("orders")?.failed === 1, { what: "1 failed" });
    expect(stopped.stats.pipelines.get("orders")).toMatchObject({ failed: 1, deadLettered: 0, retried: 2 });
    await stopped.processor.close("Shutdown");

    const resolved = await setup(new Map([[1, 99]]), "resolved");
    await resolved.processor.enqueue(events(0, 3));
    await waitFor(() => resolved.stats.pipelines.get("orders")?.processed === 2, { what: "2 processed" });
    await waitFor(() => resolved.stats.pipelines.get("orders")?.deadLettered === 1, {
      what: "1 dead-lettered",
    });
    expect(resolved.stats.pipelines.get("orders")?.failed).toBe(1);
    await resolved.processor.close("Shutdown");
  });

  it("counts a skipped event as failed, not as dead-lettered, and lets the partition go on", async () => {
    const skipped = await setup(new Map([[1, 99]]), "skipped");
    await skipped.processor.enqueue(events(0, 3));
    await waitFor(() => skipped.stats.pipelines.get("orders")?.processed === 2, { what: "2 processed" });
    await waitFor(() => skipped.stats.pipelines.get("orders")?.failed === 1, { what: "1 failed" });
    expect(skipped.stats.pipelines.get("orders")?.deadLettered).toBe(0);
    expect(skipped.processor.status().state).toBe("running");
    await skipped.processor.close("Shutdown");
  });

  it("counts failed checkpoint writes by outcome", async () => {
    const { processor, stats, inner } = await setup();
    inner.failWrites = new Error("storage down");
    await processor.enqueue(events(0, 1));
    await waitFor(() => stats.checkpointWrites.failed >= 1, { what: "a failed checkpoint write" });
    expect(stats.checkpointWrites.ok).toBe(0);
    inner.failWrites = undefined;
    await processor.close("Shutdown");
    expect(stats.checkpointWrites.ok).toBe(1);
  });
});
