/**
 * Tracing with the real OpenTelemetry SDK (an in-memory exporter) against the emulator: a producer
 * span's context sent in the event's `traceparent` is linked from the worker's attempt span, which
 * carries the messaging attributes; a failed attempt records the exception, and what followed it
 * as an event (the retry and its backoff, or the dead-letter blob the failure policy wrote); the
 * retry is a span of its own; a span the handler starts is a child of the attempt span.
 */
import { fileURLToPath } from "node:url";
import { EventHubProducerClient } from "@azure/event-hubs";
import { BlobServiceClient } from "@azure/storage-blob";
import { context, propagation, SpanStatusCode, trace } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { createWorker } from "../../../src/app/worker-app.js";
import { compileWorkerConfig } from "../../../src/config/worker.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { createAttemptTracer } from "../../../src/observability/tracing.js";
import { freshContainer, freshHub, testStack } from "../../helpers/stack.js";
import { startTestTracing } from "../../helpers/tracing.js";
import { waitFor } from "../../helpers/wait-for.js";
import { flagOptions } from "../worker/support.js";

const TRACED = fileURLToPath(new URL("../../fixtures/handlers/traced.mjs", import.meta.url));

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("tracing", () => {
  it("links attempt spans to the producer, records failures, nests the handler's spans", async () => {
    const { sdk, exporter } = await startTestTracing();
    cleanups.push(() => sdk.shutdown());
    const { hubName, connectionString } = await freshHub(1);
    const { containerName } = await freshContainer("trace");

    // The producer's span, carried by the first event as `traceparent`.
    const producerSpan = sdk.tracer.startSpan("producer send");
    const properties: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), producerSpan), properties);
    producerSpan.end();
    expect(properties.traceparent).toMatch(/^00-/);
    const producer = new EventHubProducerClient(connectionString, hubName);
    cleanups.push(() => producer.close());
    await producer.sendBatch(
      [{ body: { fail: false }, properties }, { body: { fail: true } }, { body: { fail: "always" } }],
      { partitionId: "0" },
    );

    const config = compileWorkerConfig(
      flagOptions({
        eventHubConnectionString: connectionString,
        eventHubName: hubName,
        storageConnectionString: testStack().azurite.connectionString,
        containerName,
        handler: TRACED,
        strategy: "greedy",
        maxWaitTimeMs: "200",
        maxAttempts: "2",
        retryBaseDelayMs: "10",
        retryMaxDelayMs: "20",
        metricsPort: "off",
      }),
      { baseDir: process.cwd() },
    );
    const tracer = createAttemptTracer({ tracer: sdk.tracer });
    const worker = createWorker(config, { logger: silentLogger(), tracer });
    cleanups.push(() => worker.stop({ deadlineMs: 2000 }));
    await worker.start();

    const attemptSpans = (): ReadableSpan[] =>
      exporter.getFinishedSpans().filter((s) => s.name === "default process");
    await waitFor(() => attemptSpans().length >= 5, { timeoutMs: 30_000, what: "five attempt spans" });
    const spans = attemptSpans();
    const bySeq = (seq: number) =>
      spans.filter((s) => s.attributes["messaging.eventhubs.message.sequence_number"] === seq);

    const [linked] = bySeq(0);
    expect(linked?.links.map((l) => l.context.traceId)).toEqual([producerSpan.spanContext().traceId]);
    expect(linked?.spanContext().traceId).not.toBe(producerSpan.spanContext().traceId);
    expect(linked?.attributes).toMatchObject({
      "messaging.system": "eventhubs",
      "messaging.destination.name": hubName,
      "messaging.consumer.group.name": "$Default",
      "messaging.destination.partition.id": "0",
      "messaging.eventhubs.message.sequence_number": 0,
      "ehw.attempt": 1,
    });
    expect(linked?.status.code).toBe(SpanStatusCode.UNSET);

    const [failed, retried] = bySeq(1).sort(
      (a, b) => Number(a.attributes["ehw.attempt"]) - Number(b.attributes["ehw.attempt"]),
    );
    expect(failed?.attributes["ehw.attempt"]).toBe(1);
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.status.message).toContain("first attempt fails");
    expect(failed?.events.map((e) => e.name)).toEqual(["exception", "retry"]);
    expect(String(failed?.events[0]?.attributes?.["exception.message"])).toContain("first attempt fails");
    const delayMs = Number(failed?.events[1]?.attributes?.["ehw.retry.delay_ms"]);
    expect(delayMs).toBeGreaterThanOrEqual(0);
    expect(delayMs).toBeLessThanOrEqual(20);
    expect(failed?.events[1]?.attributes?.["ehw.retry.next_attempt"]).toBe(2);
    expect(retried?.attributes["ehw.attempt"]).toBe(2);
    expect(retried?.status.code).toBe(SpanStatusCode.UNSET);
    expect(retried?.spanContext().spanId).not.toBe(failed?.spanContext().spanId);

    // The last attempt of an event that always fails records where the default policy stored it.
    const [first, last] = bySeq(2).sort(
      (a, b) => Number(a.attributes["ehw.attempt"]) - Number(b.attributes["ehw.attempt"]),
    );
    expect(first?.events.map((e) => e.name)).toEqual(["exception", "retry"]);
    expect(last?.status.code).toBe(SpanStatusCode.ERROR);
    expect(last?.events.map((e) => e.name)).toEqual(["exception", "dead-lettered"]);
    const references = last?.events[1]?.attributes?.["ehw.dead_letter.references"];
    const stored: string[] = [];
    const deadLetters = BlobServiceClient.fromConnectionString(
      testStack().azurite.connectionString,
    ).getContainerClient(config.deadLetter.containerName);
    for await (const blob of deadLetters.listBlobsFlat()) stored.push(blob.name);
    expect(references).toEqual(stored);
    expect(stored).toHaveLength(1);

    // The handler's own span is the attempt span's child, in the same trace.
    const own = exporter
      .getFinishedSpans()
      .filter((s) => s.name === "fixture work" && s.attributes["fixture.sequence_number"] === 0);
    expect(own).toHaveLength(1);
    expect(own[0]?.parentSpanContext?.spanId).toBe(linked?.spanContext().spanId);
    expect(own[0]?.spanContext().traceId).toBe(linked?.spanContext().traceId);
  });
});
