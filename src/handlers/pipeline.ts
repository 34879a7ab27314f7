import { EhwError, HandlerFailedError, HandlerLoadError, toError } from "../common/errors.js";
import type { Logger } from "../observability/logger.js";
import type { EventHandler, HandlerContext, ReceivedEventData } from "./contract.js";

/** `event`: `run` takes exactly one event; `batch`: `run` takes a list of events of one partition. */
export type PipelineKind = "event" | "batch";

/** What the worker passes to {@link Pipeline.run}; the pipeline adds its name and scopes the logger. */
export interface PipelineRunContext extends Omit<HandlerContext, "pipeline"> {
  /**
   * Throws the abort reason when `signal` has fired, without reading `signal`. Optional: a context
   * that builds its signal only when a handler asks for it offers this, so that the checks between
   * steps do not build it for every event.
   */
  readonly throwIfAborted?: () => void;
}

/** One handler of a pipeline, under its instance name. */
export interface PipelineStep {
  /** Instance name from the config. */
  name: string;
  /** The loaded, initialised handler. */
  handler: EventHandler;
}

/** An ordered list of handlers that together process the events routed to it. */
export interface Pipeline {
  /** Pipeline name from the config. */
  readonly name: string;
  /** Whether `run` takes one event or a list. */
  readonly kind: PipelineKind;
  /** Instance names of the handlers, in the order they run. */
  readonly handlerNames: readonly string[];
  /**
   * Runs every handler in turn (each after the previous one resolved). Rejects with
   * {@link HandlerFailedError} (cause = the handler's error, context names the handler) when a
   * handler throws, or with the signal's reason when `ctx.signal` fired before a handler started;
   * either way the events are not done. An event pipeline must be given exactly one event.
   */
  run(events: ReceivedEventData[], ctx: PipelineRunContext): Promise<void>;
  /**
   * Like {@link run}, but synchronous as long as the handlers are: returns undefined when every
   * handler returned without a promise, throws what `run` would reject with when that happens
   * before any handler returned a promise, else returns the promise of the rest. The worker calls
   * this per event: a promise and a turn of the microtask queue per event and step cost measurable
   * CPU, and a run that finished synchronously cannot have outlived its time limit. Optional: a
   * pipeline without it is run with `run`.
   */
  start?(events: ReceivedEventData[], ctx: PipelineRunContext): Promise<void> | undefined;
}

/** Runs a pipeline through its `start` when it has one (synchronously while it can), else `run`. */
export function startPipeline(
  pipeline: Pipeline,
  events: ReceivedEventData[],
  ctx: PipelineRunContext,
): Promise<void> | undefined {
  return pipeline.start === undefined ? pipeline.run(events, ctx) : pipeline.start(events, ctx);
}

/**
 * Decides a pipeline's kind: `batch` when every handler offers `handleBatch`, else `event`, which
 * then needs `handle` on every handler. Throws HandlerLoadError naming the handlers that offer only
 * `handleBatch` when others offer only `handle`.
 */
export function pipelineKind(pipeline: string, steps: readonly PipelineStep[]): PipelineKind {
  if (steps.every((s) => typeof s.handler.handleBatch === "function")) return "batch";
  const batchOnly = steps.filter((s) => typeof s.handler.handle !== "function").map((s) => s.name);
  if (batchOnly.length > 0) {
    const eventOnly = steps.filter((s) => typeof s.handler.handleBatch !== "function").map((s) => s.name);
    throw new HandlerLoadError(
      `pipeline "${pipeline}" mixes handlers that offer only handle (${eventOnly.join(", ")}) with handlers ` +
        `that offer only handleBatch (${batchOnly.join(", ")}); give one side the other method or split the pipeline`,
      { context: { setting: `pipelines.${pipeline}`, eventOnly, batchOnly } },
    );
  }
  return "event";
}

function stepFailure(
  pipeline: string,
  step: string,
  events: ReceivedEventData[],
  ctx: PipelineRunContext,
  err: unknown,
): HandlerFailedError {
  const first = events[0];
  const where = first === undefined ? "" : ` at sequence number ${first.sequenceNumber}`;
  // toError: a thrown object reads as its JSON, not "[object Object]".
  const reason = toError(err).message;
  return new HandlerFailedError(
    `handler "${step}" of pipeline "${pipeline}" failed on partition ${ctx.partitionId}${where}, attempt ${ctx.attempt}: ${reason}`,
    {
      cause: err,
      // A handler may say it is not worth retrying by throwing one of our errors marked so.
      retriable: err instanceof EhwError ? err.retriable : true,
      context: {
        pipeline,
        handler: step,
        partitionId: ctx.partitionId,
        sequenceNumber: first?.sequenceNumber,
        attempt: ctx.attempt,
        eventCount: events.length,
      },
    },
  );
}

/** Builds a pipeline over loaded handlers; throws HandlerLoadError for a mixed-kind pipeline. */
export function createPipeline(name: string, steps: readonly PipelineStep[]): Pipeline {
  const kind = pipelineKind(name, steps);
  const ordered = [...steps];
  // Child loggers per (worker logger, step): the worker passes the same partition logger for many
  // events, and pino child creation per event and step is measurable at high rates.
  const childLoggers = new WeakMap<Logger, Logger[]>();
  const loggersFor = (parent: Logger): Logger[] => {
    let loggers = childLoggers.get(parent);
    if (loggers === undefined) {
      loggers = ordered.map((s) => parent.child({ pipeline: name, handler: s.name }));
      childLoggers.set(parent, loggers);
    }
    return loggers;
  };

  /** Runs the steps from `first` on; a promise only once a step returned one. */
  const runFrom = (
    first: number,
    events: ReceivedEventData[],
    ctx: PipelineRunContext,
    loggers: Logger[],
  ): Promise<void> | undefined => {
    for (let i = first; i < ordered.length; i += 1) {
      const step = ordered[i]!;
      if (ctx.throwIfAborted !== undefined) ctx.throwIfAborted();
      else ctx.signal.throwIfAborted();
      const handlerCtx = handlerContext(ctx, name, loggers[i] ?? ctx.logger);
      let result: unknown;
      try {
        result =
          kind === "batch"
            ? step.handler.handleBatch!(events, handlerCtx)
            : step.handler.handle!(events[0]!, handlerCtx);
      } catch (err) {
        throw stepFailure(name, step.name, events, ctx, err);
      }
      if (isThenable(result)) return settleThenRunFrom(result, i, events, ctx, loggers);
    }
    return undefined;
  };

  const settleThenRunFrom = async (
    result: PromiseLike<unknown>,
    step: number,
    events: ReceivedEventData[],
    ctx: PipelineRunContext,
    loggers: Logger[],
  ): Promise<void> => {
    try {
      await result;
    } catch (err) {
      throw stepFailure(name, ordered[step]!.name, events, ctx, err);
    }
    const rest = runFrom(step + 1, events, ctx, loggers);
    if (rest !== undefined) await rest;
  };

  const start = (events: ReceivedEventData[], ctx: PipelineRunContext): Promise<void> | undefined => {
    if (kind === "event" && events.length !== 1) {
      throw new EhwError(
        "PIPELINE_MISUSE",
        `event pipeline "${name}" takes exactly one event, got ${events.length}`,
      );
    }
    if (events.length === 0) return undefined;
    return runFrom(0, events, ctx, loggersFor(ctx.logger));
  };

  const run = async (events: ReceivedEventData[], ctx: PipelineRunContext): Promise<void> => {
    const pending = start(events, ctx);
    if (pending !== undefined) await pending;
  };

  return { name, kind, handlerNames: ordered.map((s) => s.name), run, start };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function"
  );
}

/**
 * A handler's context, built field by field rather than by spreading the run context: a spread
 * costs more per event, and it would read `signal`, which the run context may build only on demand.
 * `signal` stays an own enumerable property, so a handler that spreads its context still passes
 * the signal on: a plain value when the run context has its signal at hand, else a getter.
 */
function handlerContext(ctx: PipelineRunContext, pipeline: string, logger: Logger): HandlerContext {
  if (ctx.throwIfAborted !== undefined) return new LazySignalContext(ctx, pipeline, logger);
  return {
    partitionId: ctx.partitionId,
    eventHubName: ctx.eventHubName,
    consumerGroup: ctx.consumerGroup,
    pipeline,
    attempt: ctx.attempt,
    logger,
    signal: ctx.signal,
  };
}

/**
 * The context of a step whose run context builds its signal on demand. A class with one shared
 * getter defined on each instance: an object literal with a getter costs a closure and a slow
 * literal per event and step (about three times the time of this).
 */
class LazySignalContext implements HandlerContext {
  static readonly #signal: PropertyDescriptor = {
    get(this: LazySignalContext): AbortSignal {
      return this.#run.signal;
    },
    enumerable: true,
    configurable: true,
  };
  readonly partitionId: string;
  readonly eventHubName: string;
  readonly consumerGroup: string;
  readonly pipeline: string;
  readonly attempt: number;
  readonly logger: Logger;
  declare readonly signal: AbortSignal;
  readonly #run: PipelineRunContext;

  constructor(run: PipelineRunContext, pipeline: string, logger: Logger) {
    this.#run = run;
    this.partitionId = run.partitionId;
    this.eventHubName = run.eventHubName;
    this.consumerGroup = run.consumerGroup;
    this.pipeline = pipeline;
    this.attempt = run.attempt;
    this.logger = logger;
    Object.defineProperty(this, "signal", LazySignalContext.#signal);
  }
}
