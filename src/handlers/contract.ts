/**
 * The contract a user's handler module implements. A module exports (by default as `default`)
 * either a handler object or a factory `(options, initCtx) => handler`; the worker loads it once per
 * handler instance named in the config, calls `init` once, runs `handle` or `handleBatch` for the
 * events routed to its pipelines, and calls `close` once at shutdown.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import type { Context } from "@opentelemetry/api";
import type { Logger } from "../observability/logger.js";

export type { ReceivedEventData } from "@azure/event-hubs";

/** What a handler knows about the events it is given; fresh for every call. */
export interface HandlerContext {
  /** Partition the events came from. */
  readonly partitionId: string;
  /** Event hub name. */
  readonly eventHubName: string;
  /** Consumer group the worker reads as. */
  readonly consumerGroup: string;
  /** Name of the pipeline running the handler. */
  readonly pipeline: string;
  /** Attempt number for these events, 1-based; above 1 the events were seen before and failed. */
  readonly attempt: number;
  /** Logger scoped to the partition, pipeline and handler. */
  readonly logger: Logger;
  /**
   * Fired when the worker lost the partition or is shutting down. Pass it to I/O that supports
   * cancellation; a handler that ignores it is simply awaited (up to the drain deadline).
   */
  readonly signal: AbortSignal;
  /**
   * With tracing on, the OpenTelemetry context whose active span is this attempt's. The handler
   * runs inside it, so instrumented clients nest under it without this; pass it explicitly to
   * work started outside the handler's async flow. Undefined with tracing off.
   */
  readonly traceContext?: Context;
}

/** What a handler's factory and `init` are given, once per handler instance. */
export interface InitContext {
  /** The instance name from the config (the key under `handlers`). */
  readonly name: string;
  /** Logger scoped to the handler instance. */
  readonly logger: Logger;
  /** The instance's `options` from the config; `{}` when none. */
  readonly options: Record<string, unknown>;
  /** Identity of this worker process (also its ownership id). */
  readonly workerId: string;
}

/**
 * A handler: at least one of `handle` (one event per call) and `handleBatch` (a list of events per
 * call, in partition order). Throwing (or rejecting) marks the events failed; the worker retries
 * them with a new `attempt`, so handlers must tolerate seeing an event more than once.
 */
export interface EventHandler {
  /** Display name, for logs; default: the instance name from the config. */
  name?: string;
  /** Processes one event. */
  handle?(event: ReceivedEventData, ctx: HandlerContext): void | Promise<void>;
  /** Processes several events of one partition, in order. */
  handleBatch?(events: ReceivedEventData[], ctx: HandlerContext): void | Promise<void>;
  /** Called once after loading, before any event; a rejection fails the worker's start. */
  init?(ctx: InitContext): void | Promise<void>;
  /** Called once at shutdown, after the last event; release resources and flush here. */
  close?(): void | Promise<void>;
}

/** Builds a handler from its config options; may be async (e.g. to open a connection). */
export type HandlerFactory<O = Record<string, unknown>> = (
  options: O,
  initCtx: InitContext,
) => EventHandler | Promise<EventHandler>;

/** What a handler module may export under the configured name. */
export type HandlerExport = EventHandler | HandlerFactory;

/** Identity function that types a handler object: `export default defineHandler({ handle(e, ctx) {…} })`. */
export function defineHandler<H extends EventHandler>(handler: H): H {
  return handler;
}

/** Identity function that types a handler factory and its options. */
export function defineHandlerFactory<O = Record<string, unknown>>(
  factory: HandlerFactory<O>,
): HandlerFactory<O> {
  return factory;
}

/** Whether `value` is an object offering `handle` or `handleBatch` as a function. */
export function isEventHandler(value: unknown): value is EventHandler {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.handle === "function" || typeof candidate.handleBatch === "function";
}
