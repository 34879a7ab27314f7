import type { PartitionProperties } from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/observability/logger.js";
import type { PartitionObserver } from "../../../src/observability/observer.js";
import { LagReader } from "../../../src/worker/lag-reader.js";
import { waitFor } from "../../helpers/wait-for.js";

function recorder(): PartitionObserver & { lastEnqueued: number[] } {
  const lastEnqueued: number[] = [];
  return {
    lastEnqueued,
    received: (_count, _last, enqueued) => {
      if (enqueued !== undefined) lastEnqueued.push(enqueued);
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
        lastEnqueuedOnUtc: new Date(0),
        isEmpty: seq === undefined,
      };
    },
  };
}

describe("LagReader", () => {
  it("reports a claimed partition's last enqueued sequence number at once and then periodically", async () => {
    const last = new Map([["0", 41]]);
    const client = fakeClient(last);
    const reader = new LagReader(client, silentLogger(), 20);
    const observer = recorder();
    reader.start();
    reader.track("0", observer);
    await waitFor(() => observer.lastEnqueued[0] === 41, { what: "first read" });
    last.set("0", 99);
    await waitFor(() => observer.lastEnqueued.includes(99), { what: "a periodic read" });
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
