import { context, propagation, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAttemptTracer, producerContext } from "../../../src/observability/tracing.js";
import { startTracingSdk, type TracingSdk } from "../../../src/observability/tracing-sdk.js";

const exporter = new InMemorySpanExporter();
let sdk: TracingSdk;
beforeAll(async () => {
  sdk = await startTracingSdk({
    serviceName: "unit",
    tracesUrl: "http://127.0.0.1:1/v1/traces",
    headers: {},
    sampler: "always_on",
    samplerRatio: 1,
    azureSdk: false,
    exporter,
  });
});
afterAll(() => sdk.shutdown());

function producerProperties(key: "traceparent" | "Diagnostic-Id") {
  const span = sdk.tracer.startSpan("send");
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  span.end();
  return { span, properties: { [key]: carrier.traceparent ?? "" } };
}

const attempt = { eventHubName: "orders", consumerGroup: "$Default", partitionId: "3", attempt: 1 };

describe("attempt spans", () => {
  it("are children of the producer's span with parent: child, read from Diagnostic-Id too", () => {
    const { span, properties } = producerProperties("Diagnostic-Id");
    const tracer = createAttemptTracer({ tracer: sdk.tracer, parent: "child" });
    tracer.start("orders", attempt, [{ sequenceNumber: 7, properties }]).end(false);
    const ended = exporter.getFinishedSpans().at(-1);
    expect(ended?.parentSpanContext?.spanId).toBe(span.spanContext().spanId);
    expect(ended?.spanContext().traceId).toBe(span.spanContext().traceId);
    expect(ended?.links).toEqual([]);
  });

  it("of a batch link every producer and count the events", () => {
    const a = producerProperties("traceparent");
    const b = producerProperties("traceparent");
    const tracer = createAttemptTracer({ tracer: sdk.tracer });
    const events = [
      { sequenceNumber: 1, properties: a.properties },
      { sequenceNumber: 2, properties: { unrelated: "x" } },
      { sequenceNumber: 3, properties: b.properties },
    ];
    tracer.start("orders", attempt, events).end(false);
    const ended = exporter.getFinishedSpans().at(-1);
    expect(ended?.links.map((l) => l.context.spanId)).toEqual([
      a.span.spanContext().spanId,
      b.span.spanContext().spanId,
    ]);
    expect(ended?.attributes["messaging.batch.message_count"]).toBe(3);
  });

  it("make their context active inside run, for the handler's own spans", () => {
    const span = createAttemptTracer({ tracer: sdk.tracer }).start("p", attempt, [{ sequenceNumber: 0 }]);
    const active = span.run(() => trace.getSpan(context.active())?.spanContext().spanId);
    expect(active).toBe(trace.getSpan(span.context)?.spanContext().spanId);
    span.end(false);
  });

  it("mark the last failed attempt as exhausted rather than retried", () => {
    const tracer = createAttemptTracer({ tracer: sdk.tracer, maxAttempts: 2 });
    tracer.start("p", { ...attempt, attempt: 2 }, [{ sequenceNumber: 0 }]).end(true, new Error("boom"));
    expect(
      exporter
        .getFinishedSpans()
        .at(-1)
        ?.events.map((e) => e.name),
    ).toEqual(["exception", "attempts exhausted; failure handler decides"]);
  });
});

describe("producerContext", () => {
  it("is undefined without properties or with a malformed traceparent", () => {
    expect(producerContext({ sequenceNumber: 0 })).toBeUndefined();
    expect(producerContext({ sequenceNumber: 0, properties: { traceparent: "00-zz" } })).toBeUndefined();
  });
});
