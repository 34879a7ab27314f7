/**
 * Poison input: events a pipeline can never handle, recognised before any handler runs, so they
 * go straight to the pipeline's failure policy instead of burning the retry budget. A handler can
 * say the same from inside by throwing {@link PoisonEventError} (or any EhwError with
 * `retriable: false`): the attempt loop then skips the remaining attempts.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import { EhwError, type EhwErrorOptions } from "../common/errors.js";
import type { CompiledHandlersConfig, CompiledPipelineSpec } from "../config/handlers.js";
import { type Pipeline, type PipelineRunContext, startPipeline } from "../handlers/pipeline.js";
import type { HandlerRegistry } from "../handlers/registry.js";

/** Why an event is poison. */
export type PoisonReason = "too-large" | "not-json" | "unparseable";

/**
 * An event that cannot succeed however often it is tried (too large, not JSON, malformed). Never
 * retriable. Handlers may throw it, e.g. `throw new PoisonEventError("unparseable", "order has no id")`.
 */
export class PoisonEventError extends EhwError {
  /** Why the event is poison. */
  readonly reason: PoisonReason;

  constructor(reason: PoisonReason, message: string, options: Omit<EhwErrorOptions, "retriable"> = {}) {
    super("POISON_EVENT", message, { ...options, retriable: false });
    this.reason = reason;
  }
}

/**
 * Bytes of an event's body as the hub carried it: a binary body's length, else the UTF-8 length of
 * its JSON text (what the SDK decoded it from, up to whitespace).
 */
export function eventBodyBytes(event: Pick<ReceivedEventData, "body">): number {
  const { body } = event;
  if (body instanceof Uint8Array) return body.byteLength;
  if (body === undefined || body === null) return 0;
  try {
    return Buffer.byteLength(JSON.stringify(body) ?? "", "utf8");
  } catch {
    return Buffer.byteLength(String(body), "utf8");
  }
}

/** The input checks of one pipeline. */
export type PoisonChecks = Pick<CompiledPipelineSpec, "maxEventBytes" | "expectJson">;

/**
 * The poison error for an event under a pipeline's checks, or undefined when the event may run.
 * Pure; `pipeline` only names the pipeline in the message.
 */
export function poisonProblem(
  event: ReceivedEventData,
  checks: PoisonChecks,
  pipeline: string,
  partitionId: string,
): PoisonEventError | undefined {
  const where = `event ${event.sequenceNumber} of partition ${partitionId}`;
  const context = { pipeline, partitionId, sequenceNumber: event.sequenceNumber };
  if (checks.maxEventBytes !== undefined) {
    const bytes = eventBodyBytes(event);
    if (bytes > checks.maxEventBytes) {
      return new PoisonEventError(
        "too-large",
        `${where} is too large for pipeline "${pipeline}": ${bytes} bytes, maxEventBytes ${checks.maxEventBytes}`,
        { context: { ...context, bytes, maxEventBytes: checks.maxEventBytes } },
      );
    }
  }
  if (checks.expectJson === true && event.body instanceof Uint8Array) {
    return new PoisonEventError(
      "not-json",
      `${where} is not JSON (${event.body.byteLength} bytes the SDK could not parse as JSON); pipeline "${pipeline}" expects JSON`,
      { context },
    );
  }
  return undefined;
}

/**
 * Wraps a pipeline so that its run first checks every event and throws the PoisonEventError of the
 * first poison one (no handler runs). For a batch unit the whole unit fails: its events share one
 * outcome, and the policy then handles each of them.
 */
export function guardPipeline(pipeline: Pipeline, checks: PoisonChecks): Pipeline {
  if (checks.maxEventBytes === undefined && checks.expectJson !== true) return pipeline;
  const check = (events: ReceivedEventData[], ctx: PipelineRunContext): void => {
    for (const event of events) {
      const problem = poisonProblem(event, checks, pipeline.name, ctx.partitionId);
      if (problem !== undefined) throw problem;
    }
  };
  const run = async (events: ReceivedEventData[], ctx: PipelineRunContext): Promise<void> => {
    check(events, ctx);
    await pipeline.run(events, ctx);
  };
  // Passed on so that guarded pipelines keep the synchronous path of `start` (see Pipeline.start).
  const start = (events: ReceivedEventData[], ctx: PipelineRunContext): Promise<void> | undefined => {
    check(events, ctx);
    return startPipeline(pipeline, events, ctx);
  };
  return { name: pipeline.name, kind: pipeline.kind, handlerNames: pipeline.handlerNames, run, start };
}

/**
 * A registry whose pipelines carry their configured input checks; routing and close are the
 * original's. Pipelines without checks are returned unchanged.
 */
export function withPoisonChecks(registry: HandlerRegistry, config: CompiledHandlersConfig): HandlerRegistry {
  const specs = new Map(config.pipelines.map((p) => [p.name, p]));
  const guarded = new Map<string, Pipeline>();
  for (const [name, pipeline] of registry.pipelines) {
    guarded.set(name, guardPipeline(pipeline, specs.get(name) ?? {}));
  }
  const defaultPipeline = guarded.get(registry.defaultPipeline.name) ?? registry.defaultPipeline;
  return {
    pipelines: guarded,
    defaultPipeline,
    route: (event) => {
      const pipeline = registry.route(event);
      return guarded.get(pipeline.name) ?? pipeline;
    },
    close: () => registry.close(),
  };
}
