import type { ReceivedEventData } from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { inRange, recordToEvent } from "../../../src/archive/events.js";
import { fileMatches, orderFiles } from "../../../src/archive/files.js";
import { type ArchivedEvent, replayIntoPipelines } from "../../../src/archive/replay.js";
import { policyFailureHandler } from "../../../src/deadletter/failure-handler.js";
import { toCaptureRecord } from "../../../src/handlers/builtins/archive/schema.js";
import { createPipeline, type Pipeline } from "../../../src/handlers/pipeline.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { RecordingWriter, receivedEvent } from "../deadletter/fakes.js";

async function* source(partitionId: string, events: ReceivedEventData[]): AsyncGenerator<ArchivedEvent> {
  for (const event of events) yield { partitionId, event };
}

const meta = {
  namespace: "ns",
  eventHubName: "hub",
  partitionId: "0",
  firstSequenceNumber: 10,
  lastSequenceNumber: 19,
  eventCount: 10,
  firstEnqueuedTime: "2026-01-01T00:00:10.000Z",
  lastEnqueuedTime: "2026-01-01T00:00:19.000Z",
  openedAt: "2026-01-01T00:00:10.000Z",
  codec: "deflate" as const,
  syncMarker: "00".repeat(16),
};

describe("archive ranges", () => {
  it("keeps the files that overlap the range, and orders them by partition and sequence", () => {
    expect(fileMatches(meta, { fromTime: new Date("2026-01-01T00:00:19Z") })).toBe(true);
    expect(fileMatches(meta, { fromTime: new Date("2026-01-01T00:00:19.001Z") })).toBe(false);
    expect(fileMatches(meta, { toTime: new Date("2026-01-01T00:00:10Z") })).toBe(false);
    expect(fileMatches(meta, { fromSequenceNumber: 20 })).toBe(false);
    expect(fileMatches(meta, { toSequenceNumber: 10, partitionId: "0" })).toBe(true);
    expect(fileMatches(meta, { eventHubName: "other" })).toBe(false);
    const files = [
      { ...meta, partitionId: "10", firstSequenceNumber: 0 },
      { ...meta, partitionId: "2", firstSequenceNumber: 5 },
      { ...meta, partitionId: "2", firstSequenceNumber: 0 },
    ];
    expect(orderFiles(files).map((f) => `${f.partitionId}:${f.firstSequenceNumber}`)).toEqual([
      "2:0",
      "2:5",
      "10:0",
    ]);
  });

  it("takes events from --from (inclusive) to --to (exclusive) and sequence bounds inclusive", () => {
    const at = (ms: number, seq = 1) => ({ sequenceNumber: seq, enqueuedTimeUtc: new Date(ms) });
    const range = {
      fromTime: new Date(100),
      toTime: new Date(200),
      fromSequenceNumber: 1,
      toSequenceNumber: 3,
    };
    expect([at(99), at(100), at(199), at(200)].map((e) => inRange(e, range))).toEqual([
      false,
      true,
      true,
      false,
    ]);
    expect([0, 1, 3, 4].map((s) => inRange(at(150, s), range))).toEqual([false, true, true, false]);
  });

  it("turns a record back into the event the worker would have handed over", () => {
    const original = receivedEvent(7, {
      partitionKey: "k",
      messageId: "m-7",
      contentType: "application/json",
      properties: { id: "e-7", n: 3, raw: Buffer.from([1, 2]) },
    });
    const event = recordToEvent(toCaptureRecord(original));
    expect(event).toMatchObject({
      body: { n: 7 },
      properties: { id: "e-7", n: 3, raw: Buffer.from([1, 2]) },
      sequenceNumber: 7,
      offset: "700",
      partitionKey: "k",
      messageId: "m-7",
      contentType: "application/json",
    });
    expect(event.enqueuedTimeUtc).toEqual(original.enqueuedTimeUtc);
    expect(event.getRawAmqpMessage().body).toEqual(Buffer.from('{"n":7}'));
  });
});

describe("replay into pipelines", () => {
  function batchPipeline(name: string, handle: (events: ReceivedEventData[]) => void): Pipeline {
    return createPipeline(name, [
      { name: `${name}-h`, handler: { handleBatch: async (events) => handle(events) } },
    ]);
  }

  it("runs batches of at most batchSize per partition, retries a failure and dead-letters after the last attempt", async () => {
    const seen: number[][] = [];
    let failures = 0;
    const pipeline = batchPipeline("p", (events) => {
      const first = events[0]?.sequenceNumber ?? -1;
      // The batch starting at 4 fails twice (then passes); the one starting at 8 always fails.
      if ((first === 4 && failures < 2) || first === 8) {
        failures += 1;
        throw new Error("boom");
      }
      seen.push(events.map((e) => e.sequenceNumber));
    });
    const writer = new RecordingWriter();
    const summary = await replayIntoPipelines(
      source(
        "0",
        Array.from({ length: 10 }, (_, i) => receivedEvent(i)),
      ),
      {
        registry: { route: () => pipeline, pipelines: new Map([["p", pipeline]]) },
        failureHandler: policyFailureHandler({
          pipelines: [{ name: "p", handlers: ["p-h"] }],
          writer,
          eventHubName: "hub",
          consumerGroup: "$Default",
          logger: silentLogger(),
        }),
        maxAttempts: 3,
        retryBaseDelayMs: 1,
        retryMaxDelayMs: 2,
        batchSize: 4,
        eventHubName: "hub",
        consumerGroup: "$Default",
        logger: silentLogger(),
      },
    );
    expect(seen).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(writer.docs.map((d) => d.sequenceNumber)).toEqual([8, 9]);
    expect(summary).toMatchObject({ events: 10, byTarget: { p: 10 }, failed: { resolved: 2, skipped: 0 } });
  });

  it("stops with REPLAY_STOPPED when the pipeline's policy is stop", async () => {
    const pipeline = batchPipeline("p", () => {
      throw new Error("boom");
    });
    const run = replayIntoPipelines(source("0", [receivedEvent(1)]), {
      registry: { route: () => pipeline, pipelines: new Map([["p", pipeline]]) },
      failureHandler: policyFailureHandler({
        pipelines: [{ name: "p", handlers: ["p-h"], onFailure: "stop" }],
        writer: undefined,
        eventHubName: "hub",
        consumerGroup: "$Default",
        logger: silentLogger(),
      }),
      maxAttempts: 1,
      retryBaseDelayMs: 0,
      retryMaxDelayMs: 0,
      batchSize: 10,
      eventHubName: "hub",
      consumerGroup: "$Default",
      logger: silentLogger(),
    });
    await expect(run).rejects.toMatchObject({ code: "REPLAY_STOPPED" });
  });
});
