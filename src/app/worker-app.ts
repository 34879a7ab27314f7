/**
 * The composition root: builds a Worker from a compiled config with its collaborators — the
 * pipelines' input checks (poison checks), the failure policies over the dead-letter store, and,
 * for `ehw run`, the metrics, health endpoints and status line of src/ops. The Worker sees each only
 * through its interface (WorkerSetup, FailureHandler, WorkerObserver), so src/worker imports
 * neither src/deadletter nor src/ops.
 */
import type { WorkerConfig } from "../config/worker.js";
import { withPoisonChecks } from "../deadletter/poison.js";
import { prepareFailureHandling } from "../deadletter/worker-setup.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import { type AttemptTracer, createAttemptTracer } from "../observability/tracing.js";
import { startWorkerObservability, type WorkerObservability } from "../ops/worker-observability.js";
import type { WorkerSetup } from "../worker/lifecycle.js";
import { Worker, type WorkerOptions } from "../worker/worker.js";

/**
 * The start-up steps of a worker of `config`: every pipeline's input checks (maxEventBytes,
 * expectJson), and its `onFailure` policy — `deadletter` into `config.deadLetter.containerName`,
 * whose container is checked (and created when allowed) before anything is consumed.
 */
export function workerSetup(
  config: WorkerConfig,
  options: Pick<WorkerOptions, "logger" | "credential">,
): WorkerSetup {
  return {
    guardRegistry: (registry) => withPoisonChecks(registry, config.handlers),
    failureHandler: async (signal) => {
      const handling = await prepareFailureHandling({
        handlers: config.handlers,
        storage: config.storage,
        deadLetterContainer: config.deadLetter.containerName,
        eventHubName: config.eventHubs.eventHubName,
        consumerGroup: config.eventHubs.consumerGroup,
        logger: (options.logger ?? silentLogger()).child({ component: "worker" }),
        credential: options.credential,
        signal,
      });
      return handling.failureHandler;
    },
  };
}

/**
 * A Worker with the pipelines' input checks and failure policies (see {@link workerSetup});
 * `options.failureHandler` and `options.setup`, when given, take their place.
 */
export function createWorker(config: WorkerConfig, options: WorkerOptions = {}): Worker {
  return new Worker(config, { setup: workerSetup(config, options), ...options });
}

/** What {@link startWorkerApp} built. */
export interface WorkerApp {
  readonly worker: Worker;
  /** Metrics, health endpoints and status line, bound to `worker`; close after the worker stopped. */
  readonly observability: WorkerObservability;
}

/**
 * `ehw run`'s worker: starts the observability endpoints first (so `/readyz` answers 503 while the
 * worker starts; a port that was asked for must bind, else this rejects), then builds the worker
 * with the metrics as its observer and binds health and status to it. Does not start the worker.
 */
export async function startWorkerApp(config: WorkerConfig, logger: Logger): Promise<WorkerApp> {
  const observability = await startWorkerObservability({ config: config.observability, logger });
  const tracing = await startTracing(config, logger);
  const worker = createWorker(config, {
    logger,
    observer: observability.metrics,
    ...(tracing === undefined ? {} : { tracer: tracing.tracer }),
  });
  observability.attach(worker);
  if (tracing === undefined) return { worker, observability };
  return {
    worker,
    observability: {
      ...observability,
      attach: (w) => observability.attach(w),
      async close() {
        await observability.close();
        await tracing.shutdown();
      },
    },
  };
}

/**
 * With `--tracing otlp`: the SDK (loaded only then) and the attempt tracer; undefined when off.
 * The SDK's exports are flushed by `shutdown`, after the worker stopped.
 */
async function startTracing(
  config: WorkerConfig,
  logger: Logger,
): Promise<{ tracer: AttemptTracer; shutdown(): Promise<void> } | undefined> {
  const tracing = config.observability.tracing;
  if (tracing === undefined || tracing.mode === "off") return undefined;
  const { startTracingSdk } = await import("../observability/tracing-sdk.js");
  const sdk = await startTracingSdk({ ...tracing, azureSdk: true });
  logger.info(
    {
      tracesUrl: tracing.tracesUrl,
      serviceName: tracing.serviceName,
      sampler: tracing.sampler,
      parent: tracing.parent,
    },
    "tracing on: exporting spans over OTLP/HTTP",
  );
  const tracer = createAttemptTracer({ tracer: sdk.tracer, parent: tracing.parent });
  return { tracer, shutdown: () => sdk.shutdown() };
}
