/**
 * The real OpenTelemetry SDK for a test: registered globally as the worker's would be, without the
 * Azure SDK's own spans, exporting to an in-memory exporter (or to `tracesUrl` when given one with
 * `exporter: undefined`). The caller shuts it down in teardown.
 */
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import {
  startTracingSdk,
  type TracingSdk,
  type TracingSdkOptions,
} from "../../src/observability/tracing-sdk.js";

/** A started SDK and the exporter its spans end in. */
export interface TestTracing {
  readonly sdk: TracingSdk;
  readonly exporter: InMemorySpanExporter;
}

/** Starts the SDK; `options` override the defaults below. */
export async function startTestTracing(options: Partial<TracingSdkOptions> = {}): Promise<TestTracing> {
  const exporter = new InMemorySpanExporter();
  const sdk = await startTracingSdk({
    serviceName: "ehw-test",
    // Nothing listens on port 1: with the in-memory exporter the URL is never used.
    tracesUrl: "http://127.0.0.1:1/v1/traces",
    headers: {},
    sampler: "parentbased_always_on",
    samplerRatio: 1,
    azureSdk: false,
    exportDelayMs: 100,
    exporter,
    ...options,
  });
  return { sdk, exporter };
}
