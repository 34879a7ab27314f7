/**
 * `ehw send`'s tracing: the flag and variables that switch it on, and the producer span per batch
 * whose context every event of the batch carries, over the real OpenTelemetry SDK (an in-memory
 * exporter) and a stand-in for the two producer calls the loop makes.
 */
import type { CreateBatchOptions, EventData, EventDataBatch } from "@azure/event-hubs";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { compileSendTracing, readRawSendOptions } from "../../../src/config/send.js";
import { type BatchSender, sendEvents } from "../../../src/producer/send-loop.js";
import { createBatchTracer } from "../../../src/producer/send-tracing.js";
import { startTestTracing, type TestTracing } from "../../helpers/tracing.js";

describe("ehw send --tracing", () => {
  it("is off by default and switched on by the flag or EHW_TRACING, with its own service name", () => {
    expect(compileSendTracing(readRawSendOptions([], {}).tracing).mode).toBe("off");
    const flag = compileSendTracing(readRawSendOptions(["--tracing", "otlp"], {}).tracing);
    expect(flag).toMatchObject({ mode: "otlp", serviceName: "ehw-send" });
    const env = {
      EHW_TRACING: "otlp",
      OTEL_SERVICE_NAME: "orders-api",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
    };
    expect(compileSendTracing(readRawSendOptions([], env).tracing)).toMatchObject({
      mode: "otlp",
      serviceName: "orders-api",
      tracesUrl: "http://127.0.0.1:4318/v1/traces",
    });
  });

  it("refuses a mode it does not know, naming the flag or the variable", () => {
    expect(() => compileSendTracing(readRawSendOptions(["--tracing", "jaeger"], {}).tracing)).toThrow(
      /--tracing="jaeger" is not one of off, otlp/,
    );
    expect(() => compileSendTracing(readRawSendOptions([], { EHW_TRACING: "on" }).tracing)).toThrow(
      ConfigError,
    );
    expect(() => compileSendTracing(readRawSendOptions([], { EHW_TRACING: "on" }).tracing)).toThrow(
      /EHW_TRACING="on"/,
    );
  });
});

/** Batches of at most `capacity` events; sends fail from batch number `failFrom` (1-based) on. */
class FakeSender implements BatchSender {
  readonly sent: EventData[][] = [];

  constructor(
    private readonly capacity: number,
    private readonly failFrom = Number.POSITIVE_INFINITY,
  ) {}

  async createBatch(options: CreateBatchOptions = {}): Promise<EventDataBatch> {
    const events: EventData[] = [];
    const capacity = this.capacity;
    return {
      events,
      partitionId: options.partitionId,
      maxSizeInBytes: capacity * 100,
      tryAdd(event: EventData) {
        if (events.length >= capacity) return false;
        events.push(event);
        return true;
      },
    } as unknown as EventDataBatch;
  }

  async sendBatch(batch: EventDataBatch): Promise<void> {
    if (this.sent.length + 1 >= this.failFrom) throw new Error("service busy");
    this.sent.push((batch as unknown as { events: EventData[] }).events);
  }
}

let tracing: TestTracing;
beforeAll(async () => {
  tracing = await startTestTracing({ sampler: "always_on" });
});
afterAll(() => tracing.sdk.shutdown());

const loop = {
  count: 5,
  ratePerSecond: undefined,
  bodySizeBytes: 4,
  routing: { kind: "partition", partitionId: "2" },
  idStart: 10,
  type: "t",
  concurrency: 1,
} as const;

describe("producer spans", () => {
  it("give every event of a batch the batch span's traceparent and Diagnostic-Id", async () => {
    tracing.exporter.reset();
    const sender = new FakeSender(3);
    await sendEvents(sender, loop, { tracer: createBatchTracer(tracing.sdk.tracer, "orders") });
    const spans = tracing.exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.kind, s.attributes["messaging.batch.message_count"]])).toEqual([
      ["orders send", SpanKind.PRODUCER, 3],
      ["orders send", SpanKind.PRODUCER, 2],
    ]);
    expect(spans[0]?.attributes).toMatchObject({
      "messaging.system": "eventhubs",
      "messaging.destination.name": "orders",
      "messaging.destination.partition.id": "2",
      "ehw.send.first_id": 10,
      "ehw.send.last_id": 12,
    });
    sender.sent.forEach((batch, i) => {
      const { traceId, spanId } = spans[i]?.spanContext() ?? {};
      for (const event of batch) {
        expect(event.properties).toMatchObject({
          traceparent: `00-${traceId}-${spanId}-01`,
          "Diagnostic-Id": `00-${traceId}-${spanId}-01`,
          type: "t",
        });
      }
    });
    // Each batch starts a trace of its own.
    expect(spans[0]?.spanContext().traceId).not.toBe(spans[1]?.spanContext().traceId);
  });

  it("record a batch that was not sent as an error", async () => {
    tracing.exporter.reset();
    const sender = new FakeSender(3, 2);
    await expect(
      sendEvents(sender, loop, { tracer: createBatchTracer(tracing.sdk.tracer, "orders") }),
    ).rejects.toThrow("service busy");
    const spans = tracing.exporter.getFinishedSpans();
    expect(spans.map((s) => s.status.code)).toEqual([SpanStatusCode.UNSET, SpanStatusCode.ERROR]);
    expect(spans[1]?.status.message).toBe("service busy");
  });

  it("are not opened without a tracer: events carry only id and type", async () => {
    tracing.exporter.reset();
    const sender = new FakeSender(10);
    await sendEvents(sender, loop);
    expect(tracing.exporter.getFinishedSpans()).toEqual([]);
    expect(sender.sent[0]?.map((e) => e.properties)).toEqual(
      [10, 11, 12, 13, 14].map((id) => ({ id, type: "t" })),
    );
  });
});
