/**
 * The dev stack's loopback OTLP receiver fed by the real SDK and its OTLP/HTTP exporter, as a dev
 * worker with `--tracing otlp` would: the spans arrive with their names, durations, pipeline and
 * error message; gzip bodies are read, and what is no OTLP/HTTP JSON trace export is refused.
 */
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { SpanStatusCode } from "@opentelemetry/api";
import { afterEach, describe, expect, it } from "vitest";
import { startTraceReceiver, type TraceReceiver } from "../../../src/dev/trace-receiver.js";
import type { SpanRecord } from "../../../src/dev/trace-summary.js";
import { startTracingSdk } from "../../../src/observability/tracing-sdk.js";
import { waitFor } from "../../helpers/wait-for.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function receiver(onSpans: (spans: SpanRecord[]) => void = () => {}): Promise<TraceReceiver> {
  const started = await startTraceReceiver({ onSpans });
  cleanups.push(() => started.close());
  return started;
}

describe("dev trace receiver", () => {
  it("receives what the OTLP/HTTP exporter sends", async () => {
    const received: SpanRecord[] = [];
    const { tracesUrl } = await receiver((spans) => received.push(...spans));
    expect(tracesUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/traces$/);
    const sdk = await startTracingSdk({
      serviceName: "ehw-test",
      tracesUrl,
      headers: {},
      sampler: "always_on",
      samplerRatio: 1,
      azureSdk: false,
      exportDelayMs: 100,
    });
    cleanups.push(() => sdk.shutdown());

    const ok = sdk.tracer.startSpan("orders process", { attributes: { "ehw.pipeline": "orders" } });
    ok.end();
    const failed = sdk.tracer.startSpan("orders process", { attributes: { "ehw.pipeline": "orders" } });
    failed.recordException(new Error("db down"));
    failed.setStatus({ code: SpanStatusCode.ERROR, message: "db down" });
    failed.end();
    sdk.tracer.startSpan("plain").end();

    await waitFor(() => received.length >= 3, { timeoutMs: 10_000, what: "3 spans at the receiver" });
    expect(received.map((s) => s.name).sort()).toEqual(["orders process", "orders process", "plain"]);
    expect(received.filter((s) => s.pipeline === "orders")).toHaveLength(2);
    expect(received.find((s) => s.error)).toMatchObject({ name: "orders process", errorMessage: "db down" });
    for (const span of received) {
      expect(span.endMs).toBeGreaterThanOrEqual(span.startMs);
      expect(Math.abs(span.endMs - Date.now())).toBeLessThan(60_000);
    }
  });

  it("reads gzip bodies and refuses protobuf, bad JSON and other paths", async () => {
    const received: SpanRecord[] = [];
    const rx = await receiver((spans) => received.push(...spans));
    const body = JSON.stringify({
      resourceSpans: [
        {
          scopeSpans: [{ spans: [{ name: "z", startTimeUnixNano: "1000000", endTimeUnixNano: "3000000" }] }],
        },
      ],
    });
    const gzipped = await promisify(gzip)(body);
    const post = (
      init: { type: string; body: string | Uint8Array; encoding?: string },
      path = "/v1/traces",
    ) =>
      fetch(new URL(path, rx.tracesUrl), {
        method: "POST",
        headers: {
          "content-type": init.type,
          ...(init.encoding ? { "content-encoding": init.encoding } : {}),
        },
        body: init.body,
      });

    const accepted = await post({ type: "application/json", body: gzipped, encoding: "gzip" });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({});
    expect(received).toEqual([{ name: "z", startMs: 1, endMs: 3, error: false }]);

    const protobuf = await post({ type: "application/x-protobuf", body: new Uint8Array([1, 2]) });
    expect(protobuf.status).toBe(415);
    expect(((await protobuf.json()) as { message: string }).message).toContain("OTLP/HTTP JSON");
    const notJson = await post({ type: "application/json", body: "{nope" });
    expect(notJson.status).toBe(400);
    const wrongShape = await post({ type: "application/json", body: '{"resourceSpans":3}' });
    expect(wrongShape.status).toBe(400);
    expect(((await wrongShape.json()) as { message: string }).message).toContain(
      "resourceSpans must be an array",
    );
    expect((await post({ type: "application/json", body }, "/v1/metrics")).status).toBe(404);
    expect(rx.refused).toBe(4);
    expect(received).toHaveLength(1);
  });
});
