/**
 * Where the traces of `ehw dev --tracing` go. No OpenTelemetry collector or Jaeger can be
 * installed on the machines this project targets, so by default the stack runs its own loopback
 * OTLP/HTTP receiver and summarises what the workers export to it; when the OTEL_* variables name
 * a collector, the workers export there (as they would in production) and the view says so.
 */
import { processEnvironment } from "../config/process.js";
import type { Logger } from "../observability/logger.js";
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
  /** What the view shows at `nowMs` (ms since the epoch). */
  snapshot(nowMs: number): TracesSnapshot;
  /** Stops the receiver; call once the workers have exited (their last export is in). */
  close(): Promise<void>;
}

/**
 * Starts the receiver unless `collectorTracesUrl` names a collector. `logger` gets refused
 * requests (a misconfigured exporter), at most one line per distinct problem.
 */
export async function startDevTraces(
  collectorTracesUrl: string | undefined,
  logger: Logger,
): Promise<DevTraces> {
  if (collectorTracesUrl !== undefined) {
    return {
      workerEnv: undefined,
      snapshot: (nowMs) => ({ destination: collectorTracesUrl, atMs: nowMs, local: false }),
      close: async () => {},
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
  return {
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
    close: () => receiver.close(),
  };
}
