/**
 * The OpenTelemetry SDK behind `--tracing otlp`: a NodeTracerProvider (AsyncLocalStorage context,
 * W3C propagation) exporting over OTLP/HTTP, registered globally so that handlers' instrumented
 * clients and the Azure SDK's own spans join the worker's traces. Loaded only by dynamic import,
 * so with tracing off none of the SDK packages (optional dependencies) is read.
 */
import { type Tracer, trace } from "@opentelemetry/api";
import { EhwError } from "../common/errors.js";

/** The sampler of `OTEL_TRACES_SAMPLER`, by its standard name. */
export type SamplerName =
  | "always_on"
  | "always_off"
  | "traceidratio"
  | "parentbased_always_on"
  | "parentbased_always_off"
  | "parentbased_traceidratio";

/** Options of {@link startTracingSdk}; every value comes from src/config. */
export interface TracingSdkOptions {
  /** `service.name` of the resource (OTEL_SERVICE_NAME); default "eventhub-worker". */
  readonly serviceName: string;
  /** OTLP/HTTP traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces). */
  readonly tracesUrl: string;
  /** Headers of every export (OTEL_EXPORTER_OTLP_HEADERS). */
  readonly headers: Readonly<Record<string, string>>;
  /** Sampler (OTEL_TRACES_SAMPLER); default parentbased_always_on. */
  readonly sampler: SamplerName;
  /** Ratio of the ratio samplers (OTEL_TRACES_SAMPLER_ARG), 0-1; default 1. */
  readonly samplerRatio: number;
  /** Milliseconds between two exports of the batch processor (OTEL_BSP_SCHEDULE_DELAY); default 5000. */
  readonly exportDelayMs?: number;
  /** Also trace the Azure SDK's own operations; default true. */
  readonly azureSdk: boolean;
  /**
   * Export here instead of OTLP, span by span (tests: the SDK's InMemorySpanExporter; `ehw dev`:
   * a console exporter). Any object with the SDK's SpanExporter shape.
   */
  readonly exporter?: unknown;
}

/** The running SDK. */
export interface TracingSdk {
  /** The worker's tracer. */
  readonly tracer: Tracer;
  /** Exports what is buffered and stops the provider. */
  shutdown(): Promise<void>;
}

/** Loads the SDK and registers its provider globally. Rejects with EhwError when it is not installed. */
export async function startTracingSdk(options: TracingSdkOptions): Promise<TracingSdk> {
  const [node, base, resources, semconv] = await Promise.all([
    load(() => import("@opentelemetry/sdk-trace-node")),
    load(() => import("@opentelemetry/sdk-trace-base")),
    load(() => import("@opentelemetry/resources")),
    load(() => import("@opentelemetry/semantic-conventions")),
  ]);
  // biome-ignore lint/suspicious/noExplicitAny: the caller's exporter has the SDK's SpanExporter shape.
  const exporter: any =
    options.exporter ??
    new (await load(() => import("@opentelemetry/exporter-trace-otlp-http"))).OTLPTraceExporter({
      url: options.tracesUrl,
      headers: { ...options.headers },
    });
  const processor =
    options.exporter === undefined
      ? new base.BatchSpanProcessor(exporter, { scheduledDelayMillis: options.exportDelayMs ?? 5000 })
      : new base.SimpleSpanProcessor(exporter);
  const provider = new node.NodeTracerProvider({
    resource: resources.resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: options.serviceName }),
    sampler: sampler(base, options),
    spanProcessors: [processor],
  });
  provider.register();
  let disableAzure: (() => void) | undefined;
  if (options.azureSdk) disableAzure = await instrumentAzureSdk(provider);
  return {
    tracer: trace.getTracer("eventhub-worker"),
    async shutdown() {
      disableAzure?.();
      await provider.shutdown();
      trace.disable();
    },
  };
}

function sampler(base: typeof import("@opentelemetry/sdk-trace-base"), options: TracingSdkOptions) {
  const ratio = new base.TraceIdRatioBasedSampler(options.samplerRatio);
  switch (options.sampler) {
    case "always_on":
      return new base.AlwaysOnSampler();
    case "always_off":
      return new base.AlwaysOffSampler();
    case "traceidratio":
      return ratio;
    case "parentbased_always_off":
      return new base.ParentBasedSampler({ root: new base.AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new base.ParentBasedSampler({ root: ratio });
    case "parentbased_always_on":
      return new base.ParentBasedSampler({ root: new base.AlwaysOnSampler() });
  }
}

/** Azure SDK spans (receive, checkpoint writes, management reads) under the same provider. */
async function instrumentAzureSdk(provider: unknown): Promise<() => void> {
  const [{ registerInstrumentations }, { createAzureSdkInstrumentation }] = await Promise.all([
    load(() => import("@opentelemetry/instrumentation")),
    load(() => import("@azure/opentelemetry-instrumentation-azure-sdk")),
  ]);
  return registerInstrumentations({
    instrumentations: [createAzureSdkInstrumentation()],
    tracerProvider: provider as Parameters<typeof registerInstrumentations>[0]["tracerProvider"],
  });
}

async function load<T>(importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (err) {
    throw new EhwError(
      "CONFIG_INVALID",
      "--tracing otlp needs the OpenTelemetry SDK packages (optional dependencies of eventhub-worker): install them with npm install, without --omit=optional",
      { cause: err },
    );
  }
}
