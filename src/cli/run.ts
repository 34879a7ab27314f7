/**
 * `ehw run`: runs one worker process until SIGTERM / SIGINT.
 *
 * Output contract (others start this as a child process): logs are pino JSON lines on stdout, each
 * with `workerId` (the owner id); ownership changes are info lines with `msg` "partition claimed",
 * "partition released" or "partition lost to another worker" and fields `partitionId`, `reason`.
 * Errors that prevent a start go to stderr as one `ehw run: <message>` line.
 *
 * Observability: unless metricsPort is `off` (default 9464 on 127.0.0.1; containers set metricsHost
 * 0.0.0.0), an info line "metrics and health endpoints listening" with `host`, `port` and `url`
 * comes before the worker starts; `/metrics`, `/healthz` and `/readyz` are served there until the
 * process ends. A taken default port only logs a warning; a port that was set must bind (exit 1).
 * With statusIntervalMs > 0, an info line "worker status" with `state` and `partitions` follows every
 * statusIntervalMs milliseconds.
 *
 * Exit codes:
 * - 0: stopped by a signal and every accepted event finished and was checkpointed in time; also a
 *   signal during start-up, which stops the start at once (nothing was accepted yet);
 * - 1: could not start (storage or hub unreachable, credentials refused, a handler failed to
 *   load), or the drain deadline (drainTimeoutMs) passed with unfinished events;
 * - 2: invalid configuration, reported before anything connects; also a hub or checkpoint
 *   container the configuration names that does not exist (found by the start-up checks);
 * - 130 / 143: a second SIGINT / SIGTERM while draining: exit at once; nothing unfinished is
 *   checkpointed, so those events are delivered again;
 * - 70: an uncaught exception (e.g. thrown by a handler's timer callback): logged, then the worker
 *   drained and stopped as after a signal. An unhandled promise rejection is only logged.
 *
 * A partition stopped by a failed event (after its last attempt) does not end the process: the
 * partition keeps its ownership and reads nothing more, its checkpoint stays before the failed
 * event, the other partitions go on, and the failure is logged (and shown by `worker.status()`).
 * Operators decide: fix the handler or the event source and restart the worker.
 */
import { startWorkerApp, type WorkerApp } from "../app/worker-app.js";
import { ConfigError, EhwError } from "../common/errors.js";
import type { UnknownEnvVariable } from "../config/env-names.js";
import { readRawWorkerOptions, WORKER_OPTIONS_HELP } from "../config/source.js";
import { compileWorkerConfig, describeConfig, type WorkerConfig } from "../config/worker.js";
import { createLogger, type Logger, redactSecrets } from "../observability/logger.js";
import { EXIT_UNCAUGHT, listenForProcessFaults } from "./process-faults.js";

/** Exit code when the process was started wrong: invalid configuration. */
const EXIT_CONFIG = 2;
/** Exit code of a failed start or a missed drain deadline. */
const EXIT_FAILURE = 1;
/** Milliseconds after main resolves before the process is made to exit if a handle lingers. */
const EXIT_SAFETY_MS = 3000;

/** Entry point of `ehw run`; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const read = readConfig(argv);
  if (typeof read === "number") return read;
  const { config, unknownVariables } = read;
  const logger = createLogger({ level: config.logLevel, base: { workerId: config.loadBalancing.ownerId } });
  for (const unknown of unknownVariables) {
    logger.warn({ variable: unknown.name, suggestion: unknown.suggestion }, unknown.message);
  }
  logger.info({ config: describeConfig(config) }, "starting worker");
  let app: WorkerApp;
  try {
    app = await startWorkerApp(config, logger);
  } catch (err) {
    return await failedStart(err, logger);
  }
  const { worker, observability } = app;
  const signals = listenForSignals(logger);
  const faults = listenForProcessFaults(logger);
  // A signal or an uncaught exception: either way the worker drains and stops.
  const stopAsked = Promise.race([signals.first, faults.fatal]);
  try {
    const started = worker.start().then(
      () => undefined,
      (err: unknown) => err ?? new Error("start failed"),
    );
    const first = await Promise.race([started, stopAsked.then(() => "signal" as const)]);
    if (first !== undefined && first !== "signal") return await failedStart(first, logger);
    if (first === undefined) {
      logger.info({ eventHubName: config.eventHubs.eventHubName }, "worker running");
      await stopAsked;
    }
    const { drained } = await worker.stop();
    if (!drained) logger.warn({}, "drain deadline passed; unfinished events will be delivered again");
    if (faults.fatalSeen) return await finish(EXIT_UNCAUGHT, logger);
    return await finish(drained ? 0 : EXIT_FAILURE, logger);
  } finally {
    signals.dispose();
    faults.dispose();
    await observability.close();
  }
}

/** Reads and compiles the config; an exit code instead when it is invalid or help was asked for. */
function readConfig(
  argv: string[],
): { config: WorkerConfig; unknownVariables: readonly UnknownEnvVariable[] } | number {
  try {
    const read = readRawWorkerOptions(argv);
    if (read.help) {
      console.log(WORKER_OPTIONS_HELP);
      return 0;
    }
    const config = compileWorkerConfig(read.raw, { baseDir: read.baseDir });
    return { config, unknownVariables: read.unknownVariables };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`ehw run: ${err.message}`);
    return EXIT_CONFIG;
  }
}

async function failedStart(err: unknown, logger: Logger): Promise<number> {
  const message = err instanceof EhwError ? err.message : `unexpected error: ${redactSecrets(String(err))}`;
  logger.error({ err: { name: (err as Error).name, message } }, "worker failed to start");
  console.error(`ehw run: ${message}`);
  return finish(err instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILURE, logger);
}

/** Flushes the log and makes sure the process ends even if some handle lingers. */
async function finish(code: number, logger: Logger): Promise<number> {
  await new Promise<void>((resolve) => {
    try {
      logger.flush(() => resolve());
    } catch {
      resolve();
    }
  });
  setTimeout(() => process.exit(code), EXIT_SAFETY_MS).unref();
  return code;
}

interface SignalListener {
  /** Resolves with the first SIGTERM / SIGINT. */
  first: Promise<NodeJS.Signals>;
  dispose(): void;
}

/** The first signal starts the drain; a second one exits at once with 128 + signal number. */
function listenForSignals(logger: Logger): SignalListener {
  let count = 0;
  let resolveFirst: (signal: NodeJS.Signals) => void = () => {};
  const first = new Promise<NodeJS.Signals>((resolve) => {
    resolveFirst = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    count += 1;
    if (count === 1) {
      logger.info({ signal }, "signal received; draining (send it again to exit at once)");
      resolveFirst(signal);
      return;
    }
    const code = signal === "SIGINT" ? 130 : 143;
    logger.warn({ signal, code }, "second signal; exiting without draining");
    console.error(`ehw run: ${signal} again; exiting at once without draining`);
    logger.flush();
    process.exit(code);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return {
    first,
    dispose: () => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    },
  };
}
