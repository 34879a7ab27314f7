/**
 * The partitions a worker owns: one PartitionProcessor per SDK pump, opened at the pump's first
 * call and closed in its processClose, and what is logged and measured at each ownership change
 * (claimed, released, lost to another worker, stopped by a failed event, closed unexpectedly), with
 * the SDK's errors per partition. After a loss the SDK may start a new pump for a partition before
 * the old one's processClose, so processors are found by the pump's context object, and the old
 * pump's close closes the old processor, not the new one.
 */
import type { EventHubConsumerClient, PartitionContext } from "@azure/event-hubs";
import type { GuardedCheckpointStore } from "../checkpoint/guarded-store.js";
import type { ClaimVia } from "../checkpoint/handover.js";
import type { HandoverDrain } from "../checkpoint/handover-owner.js";
import { errorCodes } from "../common/connectivity.js";
import { EhwError } from "../common/errors.js";
import type { WorkerConfig } from "../config/worker.js";
import type { FailureHandler } from "../handlers/failure.js";
import type { HandlerRegistry } from "../handlers/registry.js";
import { type Logger, redactSecrets } from "../observability/logger.js";
import type { WorkerObserver } from "../observability/observer.js";
import type { AttemptTracer } from "../observability/tracing.js";
import type { LagReader } from "./lag-reader.js";
import type { WorkerState } from "./lifecycle.js";
import { type EntityNotFoundStatus, NotFoundWatch } from "./not-found-watch.js";
import { OwnershipGate } from "./partition/ownership-gate.js";
import { PartitionProcessor, type PartitionStatus } from "./partition/processor.js";

/** Options of {@link PartitionSet}. */
export interface PartitionSetOptions {
  readonly config: WorkerConfig;
  /** The worker's logger. */
  readonly logger: Logger;
  /** Added to every line (the worker id, unless the logger carries it). */
  readonly idField: Record<string, string>;
  readonly observer: WorkerObserver | undefined;
  /** Opens a span per handler attempt; undefined with tracing off. */
  readonly tracer?: AttemptTracer | undefined;
  /**
   * The worker's state: a close while draining with events unfinished clears `allDrained`, and a
   * Shutdown close while running gives the partition's ownership up (see `relinquish`).
   */
  readonly state: () => WorkerState;
}

/** What processors are built with, once the worker has started. */
export interface PartitionResources {
  readonly store: GuardedCheckpointStore;
  readonly registry: HandlerRegistry;
  readonly client: EventHubConsumerClient;
  readonly failureHandler: FailureHandler;
  /** Reads owned partitions' last enqueued sequence numbers for the lag metric; only with an observer. */
  readonly lagReader: LagReader | undefined;
  /** How the worker's last claim of a partition got it (cooperative hand-over on), for the claim line. */
  readonly claimedVia?: (partitionId: string) => ClaimVia | undefined;
}

/** See the module comment. */
export class PartitionSet {
  private readonly processors = new Map<string, PartitionProcessor>();
  /** The processor of each SDK pump, keyed by the pump's context object. */
  private readonly byPump = new WeakMap<PartitionContext, PartitionProcessor>();
  /** The last error the SDK reported per partition: the cause of an unexpected pump close. */
  private readonly lastErrors = new Map<string, Record<string, unknown>>();
  private resources: PartitionResources | undefined;
  private drainDeadlineAtMs: number | undefined;
  /** Partitions whose receivers were lately refused with not-found (a deleted consumer group). */
  private readonly notFound: NotFoundWatch;
  /** Partitions being handed over or handed over, until their pump closes. */
  private readonly handingOver = new Set<string>();
  /** False once a partition closed while the worker drained, with events unfinished. */
  allDrained = true;

  constructor(private readonly options: PartitionSetOptions) {
    // The SDK claims a closed partition again within a load-balancing loop or two; three loops
    // without a refusal mean the refusals stopped.
    this.notFound = new NotFoundWatch(3 * options.config.loadBalancing.updateIntervalMs);
  }

  /** Gives the set what processors are built with; partitions open only after this. */
  use(resources: PartitionResources): void {
    this.resources = resources;
  }

  /** Partitions with a processor. */
  get size(): number {
    return this.processors.size;
  }

  /** Every processor's status, by partition id. */
  statuses(): PartitionStatus[] {
    return [...this.processors.values()]
      .map((p) => p.status())
      .sort((a, b) => Number(a.partitionId) - Number(b.partitionId));
  }

  /** Partitions whose receivers the service lately refused with not-found; undefined when none. */
  entityNotFound(): EntityNotFoundStatus | undefined {
    return this.notFound.status();
  }

  /** The store renewed (or claimed) the partition's ownership: a paused processor admits again. */
  renewed(partitionId: string): void {
    const processor = this.processors.get(partitionId);
    // Not inside the store's claim: handlers that admission starts must not run in its stack.
    if (processor !== undefined) queueMicrotask(() => processor.admissionChanged());
  }

  /** The store found another owner of the partition. */
  markLost(partitionId: string, reason: string): void {
    this.processors.get(partitionId)?.markLost(reason);
  }

  /** The absolute drain deadline (epoch ms) for every processor, now and later opened. */
  setDrainDeadline(atMs: number): void {
    this.drainDeadlineAtMs = atMs;
    for (const processor of this.processors.values()) processor.setDrainDeadline(atMs);
  }

  /** The pump's processor, opened when the pump has none yet; asked once per batch. */
  processorOf(ctx: PartitionContext): PartitionProcessor {
    // A batch, even an empty one, means the partition's receiver is attached.
    this.notFound.received(ctx.partitionId);
    return this.byPump.get(ctx) ?? this.open(ctx);
  }

  /** Opens a processor for a pump (its processInitialize, or its first batch). */
  open(ctx: PartitionContext): PartitionProcessor {
    const { config } = this.options;
    const { partitionId } = ctx;
    const resources = this.resources;
    if (resources === undefined) {
      throw new EhwError("WORKER_MISUSE", "a partition opened before the worker started");
    }
    const { store, registry, client, failureHandler, lagReader } = resources;
    const checkpoint = store.lastSequenceNumber(partitionId);
    const observer = this.options.observer?.partitionClaimed(partitionId, checkpoint);
    const processor = new PartitionProcessor({
      identity: {
        fullyQualifiedNamespace: client.fullyQualifiedNamespace,
        eventHubName: config.eventHubs.eventHubName,
        consumerGroup: config.eventHubs.consumerGroup,
        partitionId,
      },
      processing: config.processing,
      registry,
      store,
      failureHandler,
      logger: this.options.logger,
      drainTimeoutMs: config.shutdown.drainTimeoutMs,
      onStateChange: (status) => this.onPartitionState(status),
      observer,
      tracer: this.options.tracer,
      admission: new OwnershipGate({
        partitionId,
        renewals: store,
        ownershipExpirationMs: config.loadBalancing.ownershipExpirationMs,
        marginMs: config.loadBalancing.updateIntervalMs,
        logger: this.options.logger.child({ component: "processor", partitionId, ...this.options.idField }),
      }),
    });
    if (observer !== undefined) lagReader?.track(partitionId, observer);
    if (this.drainDeadlineAtMs !== undefined) processor.setDrainDeadline(this.drainDeadlineAtMs);
    this.processors.set(partitionId, processor);
    this.byPump.set(ctx, processor);
    this.options.logger.info(
      {
        ...this.options.idField,
        partitionId,
        reason: "claimed",
        via: resources.claimedVia?.(partitionId),
        checkpoint,
      },
      "partition claimed",
    );
    return processor;
  }

  /**
   * Closes a pump's processor (its processClose): drains or stops it, writes the final
   * checkpoint, and logs the release.
   */
  async close(ctx: PartitionContext, reason: string): Promise<void> {
    const { partitionId } = ctx;
    const processor = this.byPump.get(ctx);
    if (processor === undefined) return;
    const result = await processor.close(reason);
    if (this.processors.get(partitionId) === processor) {
      this.processors.delete(partitionId);
      this.resources?.lagReader?.untrack(partitionId);
    }
    const handedOver = this.handingOver.delete(partitionId);
    this.options.observer?.partitionClosed(partitionId, handedOver ? "HandOver" : reason);
    if (this.options.state() === "draining" && !result.drained) this.allDrained = false;
    if (reason === "Shutdown" && this.options.state() === "running") await this.relinquish(partitionId);
    // A loss was logged when the processor went lost (onPartitionLost), possibly long before.
    if (processor.status().state === "lost") return;
    this.options.logger.info(
      {
        ...this.options.idField,
        partitionId,
        reason,
        drained: result.drained,
        checkpoint: result.lastCheckpoint?.sequenceNumber,
      },
      "partition released",
    );
  }

  /** Whether a partition can be handed over now: running here while the worker runs. */
  mayHandOver(partitionId: string): boolean {
    const processor = this.processors.get(partitionId);
    return (
      this.options.state() === "running" &&
      !this.handingOver.has(partitionId) &&
      processor?.status().state === "running"
    );
  }

  /**
   * The first half of a hand-over: the partition takes no new events, in-flight ones get until
   * `deadlineMs` from now, and the final checkpoint is written (the processor's drain, as at
   * shutdown). Undefined when it cannot be handed over now (see {@link mayHandOver}).
   */
  async drainForHandover(partitionId: string, deadlineMs: number): Promise<HandoverDrain | undefined> {
    const processor = this.processors.get(partitionId);
    if (processor === undefined || !this.mayHandOver(partitionId)) return undefined;
    this.handingOver.add(partitionId);
    processor.setDrainDeadline(Date.now() + deadlineMs);
    const result = await processor.close("HandOver");
    return { drained: result.drained, checkpoint: result.lastCheckpoint?.sequenceNumber };
  }

  /**
   * The second half, once the ownership was given up: the pump's next `processEvents` throws
   * PartitionLostError, which closes it (the SDK stops receiving and renewing).
   */
  handedOver(event: { partitionId: string; to: string; released: boolean; pauseMs: number }): void {
    const { partitionId } = event;
    const processor = this.processors.get(partitionId);
    const checkpoint = processor?.status().lastCheckpoint?.sequenceNumber;
    processor?.markLost("handed over");
    const fields = { ...this.options.idField, partitionId, reason: "HandOver", to: event.to, checkpoint };
    if (event.released) {
      this.options.logger.info({ ...fields, pauseMs: event.pauseMs }, "partition handed over");
    } else {
      this.options.logger.warn(
        fields,
        "partition drained for a hand-over, but giving up its ownership failed (it will expire)",
      );
    }
  }

  /** Logs an error the SDK reported, and keeps it as the partition's last (see `relinquish`). */
  reportError(error: Error, partitionId: string): void {
    const code = (error as { code?: unknown }).code;
    // An AggregateError (the SDK's spent retries) has an empty message: its parts say what failed.
    const parts = (error as { errors?: unknown }).errors;
    const inner = Array.isArray(parts)
      ? parts.map((e: { name?: unknown; code?: unknown }) => String(e?.code ?? e?.name))
      : undefined;
    const err = { name: error.name, code, message: redactSecrets(error.message), errors: inner };
    const where = { ...this.options.idField, partitionId: partitionId || undefined };
    if (partitionId) this.lastErrors.set(partitionId, err);
    if (partitionId && errorCodes(error).has("MessagingEntityNotFoundError")) this.notFound.seen(partitionId);
    // Stealing shows up as ReceiverDisconnectedError, then processClose("OwnershipLost"): rebalancing.
    if (code === "ReceiverDisconnectedError") {
      // Our own PartitionLostError after a hand-over, or the new owner's receiver taking the link.
      if (this.handingOver.has(partitionId)) return;
      this.options.logger.info({ ...where, err }, "partition taken over by another worker");
      return;
    }
    if (error.name === "AbortError") return;
    this.options.logger.warn({ ...where, err }, "event hubs client error (the SDK retries)");
  }

  /**
   * A pump closed with Shutdown while the worker runs: the SDK closes a pump so when receiving
   * failed with a non-retryable error (an AggregateError once its retries are spent, e.g. after a
   * hub restart; partitionPump.js). The ownership record still names us, but the load balancer
   * renews only partitions it receives from and claims none it thinks we own, so the partition
   * would sit idle until the record expires. Giving it up (owner "", like the SDK's abandon at
   * close) lets the next load-balancing loop — ours or another worker's — claim it at once.
   */
  private async relinquish(partitionId: string): Promise<void> {
    const store = this.resources?.store;
    const cause = this.lastErrors.get(partitionId);
    this.lastErrors.delete(partitionId);
    if (store === undefined || this.processors.has(partitionId)) return;
    try {
      const released = await store.relinquish(partitionId);
      this.options.logger.warn(
        { ...this.options.idField, partitionId, released, cause },
        "partition closed unexpectedly (the SDK stopped receiving); ownership given up for re-claiming",
      );
    } catch (err) {
      this.options.logger.warn(
        { ...this.options.idField, partitionId, cause, err },
        "partition closed unexpectedly; giving up its ownership failed (it will expire)",
      );
    }
  }

  private onPartitionState(status: PartitionStatus): void {
    if (status.state === "lost") {
      this.onPartitionLost(status);
      return;
    }
    if (status.state !== "stopped") return;
    this.options.logger.error(
      {
        ...this.options.idField,
        partitionId: status.partitionId,
        checkpoint: status.lastCheckpoint?.sequenceNumber,
      },
      "partition stopped by a failed event; the worker keeps running its other partitions",
    );
  }

  /**
   * A processor went lost (the SDK's OwnershipLost, or the guarded store found another owner): it
   * processes nothing more, so it leaves the status at once. The SDK's processClose for it may come
   * much later — its receiver's close can wait for the detach to be answered.
   */
  private onPartitionLost(status: PartitionStatus): void {
    const { partitionId } = status;
    if (this.processors.get(partitionId)?.status().state === "lost") this.processors.delete(partitionId);
    // A hand-over logs its own line (handedOver).
    if (this.handingOver.has(partitionId)) return;
    this.options.logger.info(
      {
        ...this.options.idField,
        partitionId,
        reason: "OwnershipLost",
        drained: false,
        checkpoint: status.lastCheckpoint?.sequenceNumber,
      },
      "partition lost to another worker",
    );
  }
}
