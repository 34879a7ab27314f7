/**
 * Where the traces of `ehw dev --tracing` go. No OpenTelemetry collector or Jaeger can be
 * installed on the machines this project targets, so by default the stack runs its own loopback
 * OTLP/HTTP receiver and summarises what the workers export to it; when the OTEL_* variables name
 * a collector, the workers export there (as they would in production) and the view says so.
 * Either way the dev producer traces its batches too (a PRODUCER span whose context every event
 * carries), so the workers' attempt spans link to it: whole traces.
 */
import { processEnvironment } from "../config/process.js";
import type { TracingConfig } from "../config/tracing.js";
import type { Logger } from "../observability/logger.js";
import type { TracingSdk } from "../observability/tracing-sdk.js";
import { type BatchTracer, createBatchTracer } from "../producer/send-tracing.js";
import { startTraceReceiver, type TraceReceiver } from "./trace-receiver.js";
import { TraceSummary } from "./trace-summary.js";
import type { TracesSnapshot } from "./view-model.js";

/**
 * Milliseconds between two exports of each dev worker's batch span processor
 * (OTEL_BSP_SCHEDULE_DELAY). The SDK's 5 s would make spans per second jump in steps; this keeps
 * the view's rate window (see {@link SETTLE_MS}) filled.
 */
export const DEV_EXPORT_DELAY_MS = 500;
/** Milliseconds the rate window ends before now: the export delay and the request's way. */
const SETTLE_MS = DEV_EXPORT_DELAY_MS + 1000;

/** The tracing part of a running dev stack. */
export interface DevTraces {
  /** The workers' environment, or undefined to let them inherit this process's. */
  readonly workerEnv: NodeJS.ProcessEnv | undefined;
  /** The dev producer's batch tracer. */
  readonly producerTracer: BatchTracer;
  /** What the view shows at `nowMs` (ms since the epoch). */
  snapshot(nowMs: number): TracesSnapshot;
  /** Flushes the producer's spans and stops the receiver; call once producer and workers stopped. */
  close(): Promise<void>;
}

/** Options of {@link startDevTraces}. */
export interface DevTracesOptions {
  /** The collector the OTEL_* variables name, or undefined for the stack's own receiver. */
  readonly collectorTracesUrl: string | undefined;
  /** The producer's tracing settings (from the OTEL_* variables). */
  readonly producerTracing: TracingConfig;
  /** Event hub name, for the producer spans' names and attributes. */
  readonly hub: string;
}

/** The OpenTelemetry SDK of this process, for the producer's spans (loaded only with --tracing). */
async function startProducerSdk(config: TracingConfig): Promise<TracingSdk> {
  const { startTracingSdk } = await import("../observability/tracing-sdk.js");
  // The Azure SDK's spans of this process would mostly be the view's own sampling reads.
  return startTracingSdk({ ...config, azureSdk: false });
}

/**
 * Starts the receiver unless a collector is named, and the producer's tracing. `logger` gets
 * refused requests (a misconfigured exporter), at most one line per distinct problem.
 */
export async function startDevTraces(options: DevTracesOptions, logger: Logger): Promise<DevTraces> {
  const { collectorTracesUrl, producerTracing, hub } = options;
  if (collectorTracesUrl !== undefined) {
    const sdk = await startProducerSdk(producerTracing);
    return {
      workerEnv: undefined,
      producerTracer: createBatchTracer(sdk.tracer, hub),
      snapshot: (nowMs) => ({ destination: collectorTracesUrl, atMs: nowMs, local: false }),
      close: () => sdk.shutdown().catch(() => undefined),
    };
  }
  const summary = new TraceSummary(Date.now(), { settleMs: SETTLE_MS });
  const problems = new Set<string>();
  const receiver: TraceReceiver = await startTraceReceiver({
    onSpans: (spans) => summary.add(spans),
    onRefused: (problem) => {
      if (problems.size > 20 || problems.has(problem)) return;
      problems.add(problem);
      logger.warn({ problem }, "trace receiver refused an export");
    },
  });
  logger.info({ tracesUrl: receiver.tracesUrl }, "trace receiver listening");
  let sdk: TracingSdk;
  try {
    sdk = await startProducerSdk({
      ...producerTracing,
      tracesUrl: receiver.tracesUrl,
      exportDelayMs: DEV_EXPORT_DELAY_MS,
    });
  } catch (err) {
    await receiver.close();
    throw err;
  }
  return {
    producerTracer: createBatchTracer(sdk.tracer, hub),
    // The workers inherit this environment as without tracing, plus where to export and how often.
    workerEnv: {
      ...processEnvironment(),
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl,
      OTEL_BSP_SCHEDULE_DELAY: String(DEV_EXPORT_DELAY_MS),
    },
    snapshot: (nowMs) => ({
      destination: receiver.tracesUrl,
      atMs: nowMs,
      local: true,
      figures: summary.figures(nowMs),
      refused: receiver.refused,
    }),
    close: async () => {
      await sdk.shutdown().catch((err: unknown) => logger.warn({ err }, "flushing the producer's spans"));
      await receiver.close();
    },
  };
}
