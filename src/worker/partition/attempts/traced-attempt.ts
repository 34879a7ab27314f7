/**
 * An attempt with its span (tracing on): the pipeline runs inside the span's context, so the
 * handler's own instrumented calls nest under it; the span ends when the attempt succeeds, or, when
 * it failed, once UnitAttempts says what follows (a retry or the failure handler's decision), which
 * the span records as an event. With tracing off the partition builds plain Attempts and none of
 * this runs.
 */
import type { Context } from "@opentelemetry/api";
import type { AttemptFollowUp, AttemptSpan, AttemptTracer } from "../../../observability/tracing.js";
import type { Settle } from "../now-or-later.js";
import type { WorkUnit } from "../ordering/scheduler.js";
import { Attempt, type AttemptResult, type AttemptScope } from "./attempt.js";

/** See the module comment; built only when the scope's context has a tracer. */
export class TracedAttempt<Of> extends Attempt<Of> {
  readonly #tracer: AttemptTracer;
  #span: AttemptSpan | undefined;

  constructor(
    unit: WorkUnit,
    attempt: number,
    scope: AttemptScope,
    settle: Settle<AttemptResult, Attempt<Of>>,
    of: Of,
  ) {
    super(unit, attempt, scope, settle, of);
    const { tracer } = scope.context;
    if (tracer === undefined) throw new Error("TracedAttempt needs a tracer in its context");
    this.#tracer = tracer;
  }

  /** The attempt span's context, for the handler's own spans. */
  get traceContext(): Context | undefined {
    return this.#span?.context;
  }

  protected override begin(
    pipeline: WorkUnit["pipeline"],
    events: WorkUnit["events"],
  ): Promise<void> | undefined {
    const span = this.#tracer.start(pipeline.name, this, events);
    this.#span = span;
    return span.run(() => super.begin(pipeline, events));
  }

  protected override closed(result: AttemptResult): void {
    if (result.failed) this.#span?.failed(result.error);
    else this.#span?.succeeded();
  }

  override within<T>(fn: () => T): T {
    return this.#span === undefined ? fn() : this.#span.run(fn);
  }

  override followedBy(next: AttemptFollowUp): void {
    this.#span?.followedBy(next);
  }
}
