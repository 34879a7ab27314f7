/**
 * `ehw run`'s last line of defence against faults outside any handler call: a promise rejection
 * nobody handled (a handler that fired and forgot one) and an exception nobody caught (a handler's
 * timer callback that threw). Node's default is to print a raw stack and exit at once, leaving
 * ownerships to expire and in-flight events without their final checkpoints.
 *
 * - A rejection is logged as JSON and the worker keeps running: the event whose handler leaked it
 *   has its own outcome already; the leak does not make the process unsound.
 * - An uncaught exception may have left any state half-changed, so it is logged and the worker is
 *   stopped the way a signal stops it (drain, final checkpoints, release), then exits with
 *   {@link EXIT_UNCAUGHT}.
 */
import type { Logger } from "../observability/logger.js";

/** Exit code of `ehw run` after an uncaught exception (EX_SOFTWARE), whether or not it drained. */
export const EXIT_UNCAUGHT = 70;

/** Listens for process faults until disposed. */
export interface ProcessFaults {
  /** Resolves with the first uncaught exception; the caller stops the worker. */
  readonly fatal: Promise<Error>;
  /** True once an uncaught exception was seen. */
  readonly fatalSeen: boolean;
  dispose(): void;
}

/** Starts listening; call once, before the worker starts. */
export function listenForProcessFaults(logger: Logger): ProcessFaults {
  let fatalSeen = false;
  let resolveFatal: (err: Error) => void = () => {};
  const fatal = new Promise<Error>((resolve) => {
    resolveFatal = resolve;
  });
  const onRejection = (reason: unknown): void => {
    logger.error(
      { err: asError(reason) },
      "unhandled promise rejection (it escaped a handler or a library); the worker keeps running",
    );
  };
  const onException = (err: Error): void => {
    if (fatalSeen) {
      logger.error({ err }, "another uncaught exception while stopping");
      return;
    }
    fatalSeen = true;
    logger.fatal({ err, exitCode: EXIT_UNCAUGHT }, "uncaught exception; draining and stopping the worker");
    resolveFatal(err);
  };
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  return {
    fatal,
    get fatalSeen() {
      return fatalSeen;
    },
    dispose: () => {
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onException);
    },
  };
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(`non-error rejection: ${String(reason)}`);
}
