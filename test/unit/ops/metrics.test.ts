import { describe, expect, it } from "vitest";
import { DurationHistogram, histogramSamples, receivedLag, WorkerMetrics } from "../../../src/ops/metrics.js";
import type { PartitionStatus } from "../../../src/worker/partition/processor.js";
import { parseExposition, sampleSum, sampleValue } from "./exposition.js";

function metrics(): WorkerMetrics {
  return new WorkerMetrics({ defaultMetrics: false });
}

describe("receivedLag", () => {
  it("is last enqueued minus last received", () => {
    expect(receivedLag(120, 100)).toBe(20);
    expect(receivedLag(100, 100)).toBe(0);
  });

  it("is undefined while either side is unknown", () => {
    expect(receivedLag(undefined, 5)).toBeUndefined();
    expect(receivedLag(5, undefined)).toBeUndefined();
  });

  it("never goes negative when the last-enqueued properties are older than the batch", () => {
    expect(receivedLag(90, 100)).toBe(0);
  });
});

describe("DurationHistogram", () => {
  it("puts each value in the first bucket whose bound is at least the value", () => {
    const h = new DurationHistogram([0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 1, 7]) h.observe(v);
    expect([...h.counts]).toEqual([2, 2, 1]);
    expect(h.count).toBe(5);
    expect(h.sum).toBeCloseTo(8.65);
  });

  it("exports cumulative buckets with le labels, +Inf, sum and count", () => {
    const h = new DurationHistogram([0.1, 1]);
    for (const v of [0.05, 0.5, 7]) h.observe(v);
    const samples = histogramSamples("x_seconds", h, { pipeline: "p" });
    expect(samples.map((s) => [s.metricName, s.labels.le, s.value])).toEqual([
      ["x_seconds_bucket", 0.1, 1],
      ["x_seconds_bucket", 1, 2],
      ["x_seconds_bucket", "+Inf", 3],
      ["x_seconds_sum", undefined, 7.55],
      ["x_seconds_count", undefined, 3],
    ]);
  });
});

describe("WorkerMetrics", () => {
  it("counts received events per partition and reports lag from the last batch", async () => {
    const m = metrics();
    const p0 = m.partitionClaimed("0");
    const p1 = m.partitionClaimed("1");
    p0.received(10, 109, 150);
    p0.received(5, 114, 150);
    p1.received(3, 2, 2);
    const text = await m.text();
    expect(sampleValue(text, "ehw_events_received_total", { partition: "0" })).toBe(15);
    expect(sampleValue(text, "ehw_events_received_total", { partition: "1" })).toBe(3);
    expect(sampleValue(text, "ehw_partition_lag_events", { partition: "0" })).toBe(36);
    expect(sampleValue(text, "ehw_partition_lag_events", { partition: "1" })).toBe(0);
  });

  it("keeps the last known positions across empty batches, whose last received is unknown", async () => {
    const m = metrics();
    const p = m.partitionClaimed("0");
    p.received(4, 9, 9);
    p.received(0, undefined, undefined);
    expect(sampleValue(await m.text(), "ehw_partition_lag_events", { partition: "0" })).toBe(0);
    p.received(0, undefined, 12);
    expect(sampleValue(await m.text(), "ehw_partition_lag_events", { partition: "0" })).toBe(3);
  });

  it("measures lag from the checkpoint until the first batch of a claim", async () => {
    const m = metrics();
    const p = m.partitionClaimed("3", 40);
    expect(sampleValue(await m.text(), "ehw_partition_lag_events", { partition: "3" })).toBeUndefined();
    p.received(0, undefined, 55);
    expect(sampleValue(await m.text(), "ehw_partition_lag_events", { partition: "3" })).toBe(15);
  });

  it("counts unit outcomes per partition and pipeline, retries per event", async () => {
    const m = metrics();
    const p = m.partitionClaimed("2");
    p.unitEnded("orders", 1, "processed", 1);
    p.unitEnded("orders", 1, "processed", 3);
    p.unitEnded("audit", 10, "processed", 2);
    p.unitEnded("orders", 1, "failed", 5);
    p.unitEnded("orders", 1, "deadLettered", 5);
    p.unitEnded("audit", 4, "aborted", 1);
    const text = await m.text();
    const at = (name: string, pipeline: string): number | undefined =>
      sampleValue(text, name, { partition: "2", pipeline });
    expect(at("ehw_events_processed_total", "orders")).toBe(2);
    expect(at("ehw_events_processed_total", "audit")).toBe(10);
    expect(at("ehw_events_retried_total", "orders")).toBe(2 + 4 + 4);
    expect(at("ehw_events_retried_total", "audit")).toBe(10);
    expect(at("ehw_events_failed_total", "orders")).toBe(2);
    expect(at("ehw_events_dead_lettered_total", "orders")).toBe(1);
    expect(at("ehw_events_dead_lettered_total", "audit")).toBe(0);
    expect(at("ehw_events_aborted_total", "audit")).toBe(4);
  });

  it("keeps handler durations per pipeline across partitions", async () => {
    const m = metrics();
    m.partitionClaimed("0").handlerAttempt("orders", 0.002);
    m.partitionClaimed("1").handlerAttempt("orders", 0.3);
    m.partitionClaimed("1").handlerAttempt("audit", 20);
    const text = await m.text();
    expect(sampleValue(text, "ehw_handler_duration_seconds_count", { pipeline: "orders" })).toBe(2);
    expect(sampleValue(text, "ehw_handler_duration_seconds_sum", { pipeline: "orders" })).toBeCloseTo(0.302);
    expect(
      sampleValue(text, "ehw_handler_duration_seconds_bucket", { pipeline: "orders", le: "0.005" }),
    ).toBe(1);
    expect(sampleValue(text, "ehw_handler_duration_seconds_bucket", { pipeline: "audit", le: "10" })).toBe(0);
    expect(sampleValue(text, "ehw_handler_duration_seconds_bucket", { pipeline: "audit", le: "30" })).toBe(1);
  });

  it("counts checkpoint writes by partition and outcome, failures and their durations", async () => {
    const m = metrics();
    const p = m.partitionClaimed("0");
    p.checkpointWritten("ok", 0.01);
    p.checkpointWritten("ok", 0.02);
    p.checkpointWritten("failed", 1.5);
    p.checkpointWritten("refused", 0.001);
    const text = await m.text();
    expect(sampleValue(text, "ehw_checkpoint_writes_total", { partition: "0", outcome: "ok" })).toBe(2);
    expect(sampleValue(text, "ehw_checkpoint_writes_total", { partition: "0", outcome: "failed" })).toBe(1);
    expect(sampleValue(text, "ehw_checkpoint_writes_total", { partition: "0", outcome: "refused" })).toBe(1);
    expect(sampleValue(text, "ehw_checkpoint_write_failures_total", { partition: "0" })).toBe(2);
    expect(sampleValue(text, "ehw_checkpoint_write_duration_seconds_count")).toBe(4);
  });

  it("tracks owned partitions and ownership changes by reason; counters survive a re-claim", async () => {
    const m = metrics();
    m.partitionClaimed("0").received(7, 6, 6);
    m.partitionClaimed("1");
    m.partitionClosed("1", "OwnershipLost");
    let text = await m.text();
    expect(sampleValue(text, "ehw_owned_partitions")).toBe(1);
    expect(sampleValue(text, "ehw_partition_lag_events", { partition: "1" })).toBeUndefined();
    m.partitionClosed("0", "Shutdown");
    m.partitionClaimed("0").received(1, 7, 7);
    text = await m.text();
    expect(sampleValue(text, "ehw_ownership_changes_total", { reason: "claimed" })).toBe(3);
    expect(sampleValue(text, "ehw_ownership_changes_total", { reason: "OwnershipLost" })).toBe(1);
    expect(sampleValue(text, "ehw_ownership_changes_total", { reason: "Shutdown" })).toBe(1);
    expect(sampleValue(text, "ehw_owned_partitions")).toBe(1);
    expect(sampleValue(text, "ehw_events_received_total", { partition: "0" })).toBe(8);
  });

  it("keeps a partition owned when the close of an older claim arrives after a new claim", async () => {
    const m = metrics();
    m.partitionClaimed("0");
    m.partitionClaimed("0").received(3, 12, 20);
    m.partitionClosed("0", "OwnershipLost");
    const text = await m.text();
    expect(sampleValue(text, "ehw_owned_partitions")).toBe(1);
    expect(sampleValue(text, "ehw_partition_lag_events", { partition: "0" })).toBe(8);
    m.partitionClosed("0", "Shutdown");
    m.partitionClosed("0", "Shutdown");
    expect(sampleValue(await m.text(), "ehw_owned_partitions")).toBe(0);
    m.partitionClaimed("0");
    expect(sampleValue(await m.text(), "ehw_owned_partitions")).toBe(1);
  });

  it("reads in-flight and queued gauges from the watched status at scrape time", async () => {
    const m = metrics();
    let partitions: PartitionStatus[] = [];
    m.watch({ status: () => ({ partitions }) });
    expect(sampleSum(await m.text(), "ehw_events_in_flight")).toBe(0);
    const status = (partitionId: string, inFlight: number, queued: number): PartitionStatus => ({
      partitionId,
      state: "running",
      inFlight,
      queued,
      processed: 0,
      failed: 0,
      lastCheckpoint: undefined,
    });
    partitions = [status("0", 3, 7), status("1", 1, 0)];
    const text = await m.text();
    expect(sampleValue(text, "ehw_events_in_flight", { partition: "0" })).toBe(3);
    expect(sampleValue(text, "ehw_events_in_flight", { partition: "1" })).toBe(1);
    expect(sampleValue(text, "ehw_events_queued", { partition: "0" })).toBe(7);
  });

  it("keeps registries apart: two workers in one process do not collide", async () => {
    const a = new WorkerMetrics();
    const b = new WorkerMetrics({ labels: { worker: "b" } });
    a.partitionClaimed("0").received(1, 0, 0);
    expect(sampleValue(await b.text(), "ehw_events_received_total", { partition: "0" })).toBeUndefined();
    b.partitionClaimed("0").received(2, 1, 1);
    expect(sampleValue(await b.text(), "ehw_events_received_total", { partition: "0", worker: "b" })).toBe(2);
    expect(sampleValue(await a.text(), "ehw_events_received_total", { partition: "0" })).toBe(1);
  });

  it("includes the default process metrics unless turned off, and declares every type", async () => {
    const withDefaults = await new WorkerMetrics().text();
    expect(sampleValue(withDefaults, "process_cpu_user_seconds_total")).toBeGreaterThanOrEqual(0);
    const without = await metrics().text();
    expect(parseExposition(without).some((s) => s.name.startsWith("process_"))).toBe(false);
    expect(without).toContain("# TYPE ehw_events_received_total counter");
    expect(without).toContain("# TYPE ehw_handler_duration_seconds histogram");
    expect(without).toContain("# TYPE ehw_partition_lag_events gauge");
    expect(metrics().contentType).toMatch(/^text\/plain/);
  });
});
