import { context, propagation, ROOT_CONTEXT, SpanStatusCode, trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAttemptTracer,
  followUpAttributes,
  producerContext,
} from "../../../src/observability/tracing.js";
import { startTestTracing, type TestTracing } from "../../helpers/tracing.js";

let tracing: TestTracing;
beforeAll(async () => {
  tracing = await startTestTracing({ sampler: "always_on" });
});
afterAll(() => tracing.sdk.shutdown());

function producerProperties(key: "traceparent" | "Diagnostic-Id") {
  const span = tracing.sdk.tracer.startSpan("send");
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  span.end();
  return { span, properties: { [key]: carrier.traceparent ?? "" } };
}

const attempt = { eventHubName: "orders", consumerGroup: "$Default", partitionId: "3", attempt: 1 };

describe("attempt spans", () => {
  it("are children of the producer's span with parent: child, read from Diagnostic-Id too", () => {
    const { span, properties } = producerProperties("Diagnostic-Id");
    const tracer = createAttemptTracer({ tracer: tracing.sdk.tracer, parent: "child" });
    tracer.start("orders", attempt, [{ sequenceNumber: 7, properties }]).succeeded();
    const ended = tracing.exporter.getFinishedSpans().at(-1);
    expect(ended?.parentSpanContext?.spanId).toBe(span.spanContext().spanId);
    expect(ended?.spanContext().traceId).toBe(span.spanContext().traceId);
    expect(ended?.links).toEqual([]);
  });

  it("of a batch link every producer and count the events", () => {
    const a = producerProperties("traceparent");
    const b = producerProperties("traceparent");
    const tracer = createAttemptTracer({ tracer: tracing.sdk.tracer });
    const events = [
      { sequenceNumber: 1, properties: a.properties },
      { sequenceNumber: 2, properties: { unrelated: "x" } },
      { sequenceNumber: 3, properties: b.properties },
    ];
    tracer.start("orders", attempt, events).succeeded();
    const ended = tracing.exporter.getFinishedSpans().at(-1);
    expect(ended?.links.map((l) => l.context.spanId)).toEqual([
      a.span.spanContext().spanId,
      b.span.spanContext().spanId,
    ]);
    expect(ended?.attributes["messaging.batch.message_count"]).toBe(3);
  });

  it("make their context active inside run, for the handler's own spans", () => {
    const span = createAttemptTracer({ tracer: tracing.sdk.tracer }).start("p", attempt, [
      { sequenceNumber: 0 },
    ]);
    const active = span.run(() => trace.getSpan(context.active())?.spanContext().spanId);
    expect(active).toBe(trace.getSpan(span.context)?.spanContext().spanId);
    span.succeeded();
  });

  it("of a failed attempt stay open until what follows is recorded, once", () => {
    const tracer = createAttemptTracer({ tracer: tracing.sdk.tracer });
    const span = tracer.start("p", { ...attempt, attempt: 2 }, [{ sequenceNumber: 0 }]);
    const before = tracing.exporter.getFinishedSpans().length;
    span.failed(new Error("boom"));
    expect(tracing.exporter.getFinishedSpans()).toHaveLength(before);
    span.followedBy({ kind: "dead-lettered", references: ["orders/3/0.json"] });
    span.followedBy({ kind: "skipped" });
    const ended = tracing.exporter.getFinishedSpans().slice(before);
    expect(ended).toHaveLength(1);
    expect(ended[0]?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "boom" });
    expect(ended[0]?.events.map((e) => [e.name, e.attributes])).toEqual([
      ["exception", expect.objectContaining({ "exception.message": "boom" })],
      ["dead-lettered", { "ehw.dead_letter.references": ["orders/3/0.json"] }],
    ]);
  });

  it("record a retry with its backoff and a stop with its reason", () => {
    expect(followUpAttributes({ kind: "retry", delayMs: 250, nextAttempt: 3 })).toEqual({
      "ehw.retry.delay_ms": 250,
      "ehw.retry.next_attempt": 3,
    });
    expect(followUpAttributes({ kind: "partition stopped", reason: "policy" })).toEqual({
      "ehw.stop.reason": "policy",
    });
    expect(followUpAttributes({ kind: "aborted" })).toEqual({});
  });
});

describe("producerContext", () => {
  it("is undefined without properties or with a malformed traceparent", () => {
    expect(producerContext({ sequenceNumber: 0 })).toBeUndefined();
    expect(producerContext({ sequenceNumber: 0, properties: { traceparent: "00-zz" } })).toBeUndefined();
  });
});
