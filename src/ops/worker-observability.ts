/**
 * Everything observability `ehw run` adds around a Worker, started in one call: the metrics (the
 * worker's observer), the health monitor, the HTTP server of `/metrics`, `/healthz` and `/readyz`,
 * and the periodic status line. The server starts before the worker exists, so `/readyz` answers
 * 503 ("worker is starting") from the first moment; `attach(worker)` binds it to the worker.
 * With `metricsPort` off, no metrics exist and the worker gets no observer: nothing is measured.
 */
import { EhwError } from "../common/errors.js";
import type { ObservabilityConfig } from "../config/observability.js";
import type { Logger } from "../observability/logger.js";
import type { WorkerStatus } from "../worker/lifecycle.js";
import { HealthMonitor, type HealthMonitorOptions, type ReadinessSource } from "./health.js";
import { type ObservabilityServer, startObservabilityServer } from "./http-server.js";
import { WorkerMetrics } from "./metrics.js";
import { startStatusLog } from "./status-log.js";

/** What observability needs of the worker (the Worker class has all of it). */
export interface ObservedWorker extends ReadinessSource {
  status(): WorkerStatus;
}

/** Options of {@link startWorkerObservability}. */
export interface WorkerObservabilityOptions {
  /** The compiled observability settings. */
  readonly config: ObservabilityConfig;
  /** Process logger; the bound address and the status lines go here. */
  readonly logger: Logger;
  /** Thresholds of the health monitor (stall threshold, probe cache); defaults as documented there. */
  readonly health?: Omit<HealthMonitorOptions, "source">;
}

/** Started observability; see the module comment. */
export interface WorkerObservability {
  /** The worker's observer (pass as `observer` to the Worker); undefined when metrics are off. */
  readonly metrics: WorkerMetrics | undefined;
  /** The listening server, when there is one. */
  readonly server: ObservabilityServer | undefined;
  /** Binds metrics, health and the status line to the worker. Call once, before `worker.start()`. */
  attach(worker: ObservedWorker): void;
  /** Stops the status line and the health timer, and closes the server. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the server (when `metricsPort` is set) and logs its address. Rejects with EhwError
 * `LISTEN_FAILED` when a port that was asked for cannot be bound; a taken default port only logs a
 * warning and leaves metrics off, so several workers can run on one machine without settings.
 */
export async function startWorkerObservability(
  options: WorkerObservabilityOptions,
): Promise<WorkerObservability> {
  const { config, logger } = options;
  let worker: ObservedWorker | undefined;
  const source: ReadinessSource = {
    status: () => worker?.status() ?? { state: "starting" },
    probeEventHub: (signal) => (worker ?? notAttached()).probeEventHub(signal),
    probeCheckpointStore: (signal) => (worker ?? notAttached()).probeCheckpointStore(signal),
  };
  const health = new HealthMonitor({ ...options.health, source });
  let metrics: WorkerMetrics | undefined;
  let server: ObservabilityServer | undefined;
  if (config.metricsPort !== undefined) {
    metrics = new WorkerMetrics({
      ...(config.hubRetentionMs === undefined ? {} : { retentionMs: config.hubRetentionMs }),
    });
    server = await listen(config, metrics, health, logger);
    if (server === undefined) metrics = undefined;
    else health.start();
  }
  let stopStatusLog: (() => void) | undefined;
  return {
    metrics,
    server,
    attach(w) {
      worker = w;
      metrics?.watch(w);
      if (config.statusIntervalMs > 0 && stopStatusLog === undefined) {
        stopStatusLog = startStatusLog({ source: w, logger, intervalMs: config.statusIntervalMs });
      }
    },
    async close() {
      stopStatusLog?.();
      health.stop();
      await server?.close();
    },
  };
}

async function listen(
  config: ObservabilityConfig,
  metrics: WorkerMetrics,
  health: HealthMonitor,
  logger: Logger,
): Promise<ObservabilityServer | undefined> {
  const port = config.metricsPort ?? 0;
  try {
    const server = await startObservabilityServer({
      host: config.metricsHost,
      port,
      metrics,
      health,
      logger,
    });
    logger.info(
      { host: server.host, port: server.port, url: server.url },
      "metrics and health endpoints listening",
    );
    return server;
  } catch (err) {
    if (!(err instanceof EhwError) || !config.metricsPortIsDefault) throw err;
    logger.warn(
      { host: config.metricsHost, port, code: err.context.code },
      "default metrics port unavailable; metrics and health endpoints off (set --metrics-port / EHW_METRICS_PORT)",
    );
    return undefined;
  }
}

function notAttached(): never {
  throw new EhwError("WORKER_MISUSE", "no worker attached to the health monitor yet");
}
