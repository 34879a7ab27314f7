/**
 * Producer spans of the load generator (tracing on): one span per batch, of kind PRODUCER, whose
 * context every event of the batch carries as `traceparent` and as `Diagnostic-Id` (the property
 * @azure/event-hubs itself writes and reads), so that a worker's attempt span links to it, or joins
 * its trace. The batch is sent inside the span's context, so the Azure SDK's own send span nests
 * under it. Only the OpenTelemetry API is used here; the SDK is started by the caller.
 */
import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { LaneBatchOptions } from "./plan.js";

/** The application property the Azure SDKs read the producer's traceparent from. */
export const DIAGNOSTIC_ID_PROPERTY = "Diagnostic-Id";

/** The open span of one batch. */
export interface BatchSpan {
  /** Application properties every event of the batch carries: `traceparent`, `Diagnostic-Id` (and `tracestate`). */
  readonly properties: Readonly<Record<string, string>>;
  /** Runs `fn` with the span's context active. */
  run<T>(fn: () => T): T;
  /** Ends the span of a batch the service acknowledged, with the ids it held. */
  sent(ids: readonly number[]): void;
  /** Ends the span of a batch that was not sent, recording why (status ERROR). */
  failed(error: unknown): void;
}

/** Opens a span per batch; built once per run when tracing is on. */
export interface BatchTracer {
  /** Opens the span of a batch created with `lane`'s options. */
  start(lane: LaneBatchOptions): BatchSpan;
}

/** A tracer of the batches sent to `hub`; see the module comment. */
export function createBatchTracer(tracer: Tracer, hub: string): BatchTracer {
  const name = `${hub} send`;
  return {
    start(lane) {
      const attributes: Attributes = {
        "messaging.system": "eventhubs",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.destination.name": hub,
      };
      if (lane.partitionId !== undefined) attributes["messaging.destination.partition.id"] = lane.partitionId;
      if (lane.partitionKey !== undefined)
        attributes["messaging.eventhubs.message.partition_key"] = lane.partitionKey;
      const span = tracer.startSpan(name, { kind: SpanKind.PRODUCER, attributes }, ROOT_CONTEXT);
      return new OpenBatchSpan(span, trace.setSpan(ROOT_CONTEXT, span));
    },
  };
}

class OpenBatchSpan implements BatchSpan {
  readonly properties: Readonly<Record<string, string>>;

  constructor(
    private readonly span: Span,
    private readonly spanContext: ReturnType<typeof trace.setSpan>,
  ) {
    const carrier: Record<string, string> = {};
    propagation.inject(spanContext, carrier);
    const traceparent = carrier.traceparent;
    this.properties =
      traceparent === undefined ? carrier : { ...carrier, [DIAGNOSTIC_ID_PROPERTY]: traceparent };
  }

  run<T>(fn: () => T): T {
    return context.with(this.spanContext, fn);
  }

  sent(ids: readonly number[]): void {
    this.span.setAttribute("messaging.batch.message_count", ids.length);
    if (ids.length > 0) {
      this.span.setAttribute("ehw.send.first_id", ids[0] as number);
      this.span.setAttribute("ehw.send.last_id", ids[ids.length - 1] as number);
    }
    this.span.end();
  }

  failed(error: unknown): void {
    const exception = error instanceof Error ? error : new Error(String(error));
    this.span.recordException(exception);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
    this.span.end();
  }
}
