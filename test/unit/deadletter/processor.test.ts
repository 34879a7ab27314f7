/**
 * The policy handler inside a real PartitionProcessor over an in-memory checkpoint store: the
 * checkpoint never passes a failed event while its document cannot be written.
 */
import { describe, expect, it } from "vitest";
import type { FailurePolicy } from "../../../src/config/handlers.js";
import { policyFailureHandler } from "../../../src/deadletter/failure-handler.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { waitFor } from "../../helpers/wait-for.js";
import { events, GatedHandler, harness, written } from "../processor/harness.js";
import { RecordingWriter } from "./fakes.js";

async function setup(policy: FailurePolicy | undefined, writer = new RecordingWriter()) {
  const handler = new GatedHandler();
  handler.autoRelease = true;
  handler.onCall = (call) => {
    if (call.seq === 1) throw new Error("cannot handle event 1");
  };
  const failureHandler = policyFailureHandler({
    pipelines: [{ name: "default", handlers: ["main"], ...(policy ? { onFailure: policy } : {}) }],
    writer,
    eventHubName: "hub",
    consumerGroup: "$default",
    logger: silentLogger(),
    writeAttempts: 10_000,
    writeBaseDelayMs: 1,
    writeMaxDelayMs: 2,
  });
  const h = await harness({
    handler,
    failureHandler,
    processing: { ordering: "none", concurrency: 4, maxAttempts: 2, checkpointEvery: 1 },
  });
  return { ...h, handler, writer, failureHandler };
}

describe("dead-letter policy in the partition processor", () => {
  it("does not checkpoint past the failed event while its document cannot be written", async () => {
    const writer = new RecordingWriter();
    writer.failing = true;
    const { processor, inner, handler } = await setup(undefined, writer);
    await processor.enqueue(events(0, 5));
    await waitFor(() => handler.ends.length === 4 && writer.attempts >= 5, { what: "failing writes" });
    await waitFor(() => written(inner).includes(0), { what: "checkpoint at 0" });
    expect(Math.max(...written(inner))).toBe(0);
    expect(processor.status().state).toBe("running");

    writer.failing = false;
    await waitFor(() => written(inner).at(-1) === 4, { what: "checkpoint at 4" });
    expect(writer.docs.map((d) => d.sequenceNumber)).toEqual([1]);

    // The partition keeps going.
    await processor.enqueue(events(5, 2));
    await waitFor(() => written(inner).at(-1) === 6, { what: "checkpoint at 6" });
    expect(processor.status()).toMatchObject({ state: "running", failed: 1, processed: 6 });
    await processor.close("Shutdown");
  });

  it("stops the partition when the document can never be written", async () => {
    const writer = new RecordingWriter();
    writer.failing = true;
    const handler = new GatedHandler();
    handler.autoRelease = true;
    handler.onCall = (call) => {
      if (call.seq === 1) throw new Error("cannot handle event 1");
    };
    const failureHandler = policyFailureHandler({
      pipelines: [{ name: "default", handlers: ["main"] }],
      writer,
      eventHubName: "hub",
      consumerGroup: "$default",
      logger: silentLogger(),
      writeAttempts: 3,
      writeBaseDelayMs: 1,
      writeMaxDelayMs: 1,
    });
    const { processor, inner } = await harness({
      handler,
      failureHandler,
      processing: { ordering: "partition", maxAttempts: 1, checkpointEvery: 1 },
    });
    void processor.enqueue(events(0, 4));
    await waitFor(() => processor.status().state === "stopped", { what: "partition stopped" });
    expect(writer.attempts).toBe(3);
    await processor.close("Shutdown");
    expect(written(inner).every((s) => s < 1)).toBe(true);
    expect(handler.starts.map((c) => c.seq)).toEqual([0, 1]);
  });

  it("skip lets the checkpoint pass the failed event without a document", async () => {
    const { processor, inner, writer, failureHandler } = await setup("skip");
    await processor.enqueue(events(0, 4));
    await waitFor(() => written(inner).at(-1) === 3, { what: "checkpoint at 3" });
    expect(writer.attempts).toBe(0);
    expect(failureHandler.stats().skipped).toBe(1);
    await processor.close("Shutdown");
  });

  it("stop stops the partition before the failed event", async () => {
    const { processor, inner, writer } = await setup("stop");
    void processor.enqueue(events(0, 4));
    await waitFor(() => processor.status().state === "stopped", { what: "partition stopped" });
    await processor.close("Shutdown");
    expect(writer.attempts).toBe(0);
    expect(written(inner).every((s) => s < 1)).toBe(true);
  });
});
