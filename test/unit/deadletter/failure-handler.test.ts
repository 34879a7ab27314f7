import { describe, expect, it } from "vitest";
import { ConnectionError, EhwError, HandlerFailedError } from "../../../src/common/errors.js";
import type { CompiledPipelineSpec } from "../../../src/config/handlers.js";
import { type FailureOutcome, policyFailureHandler } from "../../../src/deadletter/failure-handler.js";
import type { ExhaustedEvent } from "../../../src/handlers/failure.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { RecordingWriter, receivedEvent } from "./fakes.js";

const AT = Date.UTC(2026, 10, 21, 23, 30, 0, 0);
const pipelines: CompiledPipelineSpec[] = [
  { name: "dl", handlers: ["a"] },
  { name: "skipper", handlers: ["a"], onFailure: "skip" },
  { name: "stopper", handlers: ["a"], onFailure: "stop" },
];

function exhausted(
  pipeline: string,
  seqs: number[] = [5],
  extra: Partial<ExhaustedEvent> = {},
): ExhaustedEvent {
  const events = seqs.map((s) => receivedEvent(s));
  return {
    event: events[0] ?? receivedEvent(0),
    events,
    error: new HandlerFailedError("handler failed", { cause: new Error("boom") }),
    attempts: 3,
    partitionId: "1",
    pipeline,
    ...extra,
  };
}

function setup(writer = new RecordingWriter(), extra: { writeAttempts?: number; signal?: AbortSignal } = {}) {
  const outcomes: FailureOutcome[] = [];
  const handler = policyFailureHandler({
    pipelines,
    writer,
    eventHubName: "hub",
    consumerGroup: "cg",
    logger: silentLogger(),
    writeBaseDelayMs: 1,
    writeMaxDelayMs: 2,
    clock: () => AT,
    onOutcome: (o) => outcomes.push(o),
    ...extra,
  });
  return { handler, writer, outcomes };
}

describe("policyFailureHandler", () => {
  it("dead-letters by default and resolves only after the document was written", async () => {
    const { handler, writer, outcomes } = setup();
    let resolvedWithDocs = -1;
    const decision = await handler.onExhausted(exhausted("dl")).then((d) => {
      resolvedWithDocs = writer.docs.length;
      return d;
    });
    expect(decision).toBe("resolved");
    expect(resolvedWithDocs).toBe(1);
    expect(writer.docs[0]).toMatchObject({
      eventHubName: "hub",
      consumerGroup: "cg",
      partitionId: "1",
      sequenceNumber: 5,
      pipeline: "dl",
      attempts: 3,
      error: { name: "HandlerFailedError", causes: [{ message: "boom" }] },
    });
    expect(outcomes[0]).toMatchObject({ policy: "deadletter", decision: "resolved", eventCount: 1 });
    expect(outcomes[0]?.blobNames).toEqual(["hub/cg/1/00000000000000000005-20261121T233000000Z.json"]);
    expect(handler.stats()).toMatchObject({ deadLettered: 1, skipped: 0, stopped: 0 });
  });

  it("writes one document per event of a batch unit", async () => {
    const { handler, writer } = setup();
    expect(await handler.onExhausted(exhausted("dl", [4, 5, 6]))).toBe("resolved");
    expect(writer.docs.map((d) => d.sequenceNumber)).toEqual([4, 5, 6]);
    expect(writer.docs.every((d) => d.unit?.firstSequenceNumber === 4 && d.unit.eventCount === 3)).toBe(true);
    expect(handler.stats().deadLettered).toBe(3);
  });

  it("skip answers skipped without writing, and counts", async () => {
    const { handler, writer, outcomes } = setup();
    expect(await handler.onExhausted(exhausted("skipper", [1, 2]))).toBe("skipped");
    expect(writer.attempts).toBe(0);
    expect(handler.stats().skipped).toBe(2);
    expect(outcomes[0]).toMatchObject({ policy: "skip", decision: "skipped" });
  });

  it("stop stops without writing", async () => {
    const { handler, writer } = setup();
    expect(await handler.onExhausted(exhausted("stopper"))).toBe("stop");
    expect(writer.attempts).toBe(0);
    expect(handler.stats().stopped).toBe(1);
  });

  it("retries a failing write with backoff until it succeeds", async () => {
    const writer = new RecordingWriter();
    writer.failFirst = 2;
    const { handler } = setup(writer);
    expect(await handler.onExhausted(exhausted("dl"))).toBe("resolved");
    expect(writer.attempts).toBe(3);
    expect(writer.docs).toHaveLength(1);
    expect(handler.stats().writeFailures).toBe(2);
  });

  it("stops the partition when the write budget is spent", async () => {
    const writer = new RecordingWriter();
    writer.failing = true;
    const { handler, outcomes } = setup(writer, { writeAttempts: 3 });
    expect(await handler.onExhausted(exhausted("dl"))).toBe("stop");
    expect(writer.attempts).toBe(3);
    expect(outcomes[0]).toMatchObject({ policy: "deadletter", decision: "stop" });
    expect(handler.stats()).toMatchObject({ deadLettered: 0, stopped: 1 });
  });

  it("does not retry a write error that says retrying cannot help", async () => {
    const writer = new RecordingWriter();
    writer.failing = true;
    writer.error = new ConnectionError("refused (HTTP 403)", { retriable: false });
    const { handler } = setup(writer, { writeAttempts: 5 });
    expect(await handler.onExhausted(exhausted("dl"))).toBe("stop");
    expect(writer.attempts).toBe(1);
  });

  it("gives up retrying at once when the signal fires", async () => {
    const writer = new RecordingWriter();
    writer.failing = true;
    const controller = new AbortController();
    const { handler } = setup(writer, { writeAttempts: 1000, signal: controller.signal });
    const pending = handler.onExhausted(exhausted("dl"));
    controller.abort(new EhwError("STOPPING", "worker stopping"));
    expect(await pending).toBe("stop");
    expect(writer.attempts).toBeLessThan(1000);
  });

  it("honours the unit's own signal when the processor passes one", async () => {
    const writer = new RecordingWriter();
    writer.failing = true;
    const controller = new AbortController();
    controller.abort();
    const { handler } = setup(writer, { writeAttempts: 1000 });
    const failure = { ...exhausted("dl"), signal: controller.signal } as ExhaustedEvent;
    expect(await handler.onExhausted(failure)).toBe("stop");
    expect(writer.attempts).toBe(0);
  });

  it("refuses to be built for a deadletter pipeline without a writer", () => {
    expect(() =>
      policyFailureHandler({
        pipelines,
        writer: undefined,
        eventHubName: "h",
        consumerGroup: "cg",
        logger: silentLogger(),
      }),
    ).toThrow(/no dead-letter store/);
    expect(() =>
      policyFailureHandler({
        pipelines: [{ name: "s", handlers: ["a"], onFailure: "skip" }],
        writer: undefined,
        eventHubName: "h",
        consumerGroup: "cg",
        logger: silentLogger(),
      }),
    ).not.toThrow();
  });

  it("keeps the decision when the outcome hook throws", async () => {
    const handler = policyFailureHandler({
      pipelines,
      writer: new RecordingWriter(),
      eventHubName: "h",
      consumerGroup: "cg",
      logger: silentLogger(),
      onOutcome: () => {
        throw new Error("metrics broke");
      },
    });
    expect(await handler.onExhausted(exhausted("dl"))).toBe("resolved");
  });
});
