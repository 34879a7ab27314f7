/**
 * Spans around handler attempts, through the OpenTelemetry API only (the SDK, when tracing is on,
 * is loaded elsewhere: tracing-sdk.ts). One span per attempt of a unit — one event, or one batch
 * for batch pipelines — named after the pipeline, with the messaging semantic-convention
 * attributes, linked to (or child of) the producer's context from the first event's
 * `traceparent` / `Diagnostic-Id` property. The pipeline runs inside the span's context, so the
 * handler's own instrumented calls nest under it. A failed attempt's span stays open until what
 * follows it is known — a retry after its backoff, or the failure handler's decision — and records
 * that as a span event, so that a trace shows why an event was retried, dead-lettered, skipped or
 * stopped its partition. With tracing off no AttemptTracer exists and the attempt path does not
 * touch this module.
 */
import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";

/** How a span relates to the producer's context: `link` (its own trace, linked) or `child`. */
export type TraceParentMode = "link" | "child";

/** The event fields a span reads. */
export interface TracedEvent {
  readonly sequenceNumber: number;
  readonly partitionKey?: string | null;
  readonly properties?: Record<string, unknown>;
}

/** What an attempt's context tells the tracer (the handler context has these fields). */
export interface TracedAttempt {
  readonly eventHubName: string;
  readonly consumerGroup: string;
  readonly partitionId: string;
  /** 1-based attempt number. */
  readonly attempt: number;
}

/**
 * What followed a failed attempt, recorded on its span as an event of the same name:
 * - `retry`: the next attempt runs after `delayMs` of backoff;
 * - `dead-lettered`: the failure handler stored the unit, at `references` (dead-letter blob names);
 * - `resolved`: the failure handler took care of it without saying where;
 * - `skipped`: the failure handler dropped it on purpose;
 * - `partition stopped`: no checkpoint passes it, for `reason`;
 * - `aborted`: the partition's signal fired (ownership lost, shutdown deadline) before a decision.
 */
export type AttemptFollowUp =
  | { readonly kind: "retry"; readonly delayMs: number; readonly nextAttempt: number }
  | { readonly kind: "dead-lettered"; readonly references: readonly string[] }
  | { readonly kind: "resolved" }
  | { readonly kind: "skipped" }
  | { readonly kind: "partition stopped"; readonly reason: string }
  | { readonly kind: "aborted" };

/** An attempt's open span. */
export interface AttemptSpan {
  /** The context with the span active: handlers' ctx carries it, and the pipeline runs in it. */
  readonly context: Context;
  /** Runs `fn` with the span's context active. */
  run<T>(fn: () => T): T;
  /** Ends the span of an attempt that succeeded. */
  succeeded(): void;
  /**
   * Records the attempt's failure (an exception event, status ERROR). The span stays open until
   * {@link followedBy} says what comes next.
   */
  failed(error: unknown): void;
  /** Records what followed the failure as an event and ends the span; once only, later calls do nothing. */
  followedBy(next: AttemptFollowUp): void;
}

/** Starts attempt spans; built once per worker when tracing is on. */
export interface AttemptTracer {
  /** Opens the span of one attempt of `pipeline` over `events` (one, or a batch). */
  start(pipeline: string, attempt: TracedAttempt, events: readonly TracedEvent[]): AttemptSpan;
}

/** Options of {@link createAttemptTracer}. */
export interface AttemptTracerOptions {
  /** Usually `trace.getTracer("eventhub-worker")` after the SDK registered its provider. */
  readonly tracer: Tracer;
  /** Link to the producer's context (default) or make the span its child. */
  readonly parent?: TraceParentMode;
}

/** The Azure SDK writes the W3C traceparent under `Diagnostic-Id`; newer producers as `traceparent`. */
const EVENT_PROPERTIES_GETTER: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const value = carrier[key] ?? (key === "traceparent" ? carrier["Diagnostic-Id"] : undefined);
    return typeof value === "string" ? value : undefined;
  },
};

/** The producer's context carried by an event's properties, if any. */
export function producerContext(event: TracedEvent | undefined): Context | undefined {
  const properties = event?.properties;
  if (properties === undefined) return undefined;
  const extracted = propagation.extract(ROOT_CONTEXT, properties, EVENT_PROPERTIES_GETTER);
  const spanContext = trace.getSpanContext(extracted);
  return spanContext !== undefined && trace.isSpanContextValid(spanContext) ? extracted : undefined;
}

/** Messaging semantic-convention attributes of an attempt. */
export function attemptAttributes(
  pipeline: string,
  attempt: TracedAttempt,
  events: readonly TracedEvent[],
): Attributes {
  const first = events[0];
  const attributes: Attributes = {
    "messaging.system": "eventhubs",
    "messaging.operation.type": "process",
    "messaging.operation.name": "process",
    "messaging.destination.name": attempt.eventHubName,
    "messaging.consumer.group.name": attempt.consumerGroup,
    "messaging.destination.partition.id": attempt.partitionId,
    "ehw.pipeline": pipeline,
    "ehw.attempt": attempt.attempt,
  };
  if (events.length > 1) attributes["messaging.batch.message_count"] = events.length;
  if (first !== undefined) attributes["messaging.eventhubs.message.sequence_number"] = first.sequenceNumber;
  if (typeof first?.partitionKey === "string")
    attributes["messaging.eventhubs.message.partition_key"] = first.partitionKey;
  return attributes;
}

/** See the module comment. */
export function createAttemptTracer(options: AttemptTracerOptions): AttemptTracer {
  const { tracer } = options;
  const asChild = options.parent === "child";
  return {
    start(pipeline, attempt, events) {
      const links: Link[] = [];
      let parent: Context = ROOT_CONTEXT;
      for (const event of events) {
        const producer = producerContext(event);
        if (producer === undefined) continue;
        if (asChild && parent === ROOT_CONTEXT) parent = producer;
        else {
          const spanContext = trace.getSpanContext(producer);
          if (spanContext !== undefined) links.push({ context: spanContext });
        }
      }
      const span = tracer.startSpan(
        `${pipeline} process`,
        { kind: SpanKind.CONSUMER, attributes: attemptAttributes(pipeline, attempt, events), links },
        parent,
      );
      return new OpenAttemptSpan(span, trace.setSpan(parent, span));
    },
  };
}

/** The attributes of a follow-up's event. */
export function followUpAttributes(next: AttemptFollowUp): Attributes {
  switch (next.kind) {
    case "retry":
      return { "ehw.retry.delay_ms": next.delayMs, "ehw.retry.next_attempt": next.nextAttempt };
    case "dead-lettered":
      return { "ehw.dead_letter.references": [...next.references] };
    case "partition stopped":
      return { "ehw.stop.reason": next.reason };
    default:
      return {};
  }
}

class OpenAttemptSpan implements AttemptSpan {
  #ended = false;

  constructor(
    private readonly span: Span,
    readonly context: Context,
  ) {}

  run<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  succeeded(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.span.end();
  }

  failed(error: unknown): void {
    const exception = error instanceof Error ? error : new Error(String(error));
    this.span.recordException(exception);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
  }

  followedBy(next: AttemptFollowUp): void {
    if (this.#ended) return;
    this.#ended = true;
    this.span.addEvent(next.kind, followUpAttributes(next));
    this.span.end();
  }
}
