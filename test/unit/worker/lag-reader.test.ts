import type { PartitionProperties } from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/observability/logger.js";
import type { PartitionObserver } from "../../../src/observability/observer.js";
import { LagReader } from "../../../src/worker/lag-reader.js";
import { waitFor } from "../../helpers/wait-for.js";

function recorder(): PartitionObserver & { lastEnqueued: number[]; lastEnqueuedTimes: number[] } {
  const lastEnqueued: number[] = [];
  const lastEnqueuedTimes: number[] = [];
  return {
    lastEnqueued,
    lastEnqueuedTimes,
    received: () => {},
    partitionProperties: (p) => {
      lastEnqueued.push(p.lastEnqueuedSequenceNumber);
      lastEnqueuedTimes.push(p.lastEnqueuedTimeMs);
    },
    handlerAttempt: () => {},
    unitEnded: () => {},
    checkpointWritten: () => {},
  };
}

function fakeClient(last: Map<string, number>) {
  const reads: string[] = [];
  return {
    reads,
    getPartitionProperties: async (partitionId: string): Promise<PartitionProperties> => {
      reads.push(partitionId);
      const seq = last.get(partitionId);
      return {
        eventHubName: "hub",
        partitionId,
        beginningSequenceNumber: 0,
        lastEnqueuedSequenceNumber: seq ?? -1,
        lastEnqueuedOffset: String(seq ?? -1),
        lastEnqueuedOnUtc: new Date(1_000 * (seq ?? 0)),
        isEmpty: seq === undefined,
      };
    },
  };
}

describe("LagReader", () => {
  it("reports a claimed partition's last enqueued sequence number and time at once and then periodically", async () => {
    const last = new Map([["0", 41]]);
    const client = fakeClient(last);
    const reader = new LagReader(client, silentLogger(), 20);
    const observer = recorder();
    reader.start();
    reader.track("0", observer);
    await waitFor(() => observer.lastEnqueued[0] === 41, { what: "first read" });
    last.set("0", 99);
    await waitFor(() => observer.lastEnqueued.includes(99), { what: "a periodic read" });
    expect(observer.lastEnqueuedTimes[0]).toBe(41_000);
    reader.stop();
  });

  it("reports nothing for an empty partition, nor after untrack or stop", async () => {
    const client = fakeClient(new Map());
    const reader = new LagReader(client, silentLogger(), 10);
    const empty = recorder();
    reader.start();
    reader.track("1", empty);
    await waitFor(() => client.reads.length >= 2, { what: "reads of the empty partition" });
    expect(empty.lastEnqueued).toEqual([]);
    reader.untrack("1");
    const readsAtUntrack = client.reads.length;
    reader.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(client.reads.length).toBeLessThanOrEqual(readsAtUntrack + 1);
  });
});
