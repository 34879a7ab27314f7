/**
 * The worker: loads the handlers, checks storage and the hub, subscribes to every partition through
 * the SDK's load balancer with the guarded Blob checkpoint store, keeps one PartitionProcessor per
 * owned partition, and shuts down by draining within a deadline. The SDK abandons ownership only
 * after every `processClose` returned (EventProcessor.stop: removeAllPumps, then
 * abandonPartitionOwnerships), which is why the final checkpoint is written inside processClose.
 */
import type {
  EventHubConsumerClient,
  EventPosition,
  PartitionContext,
  ReceivedEventData,
  Subscription,
  SubscriptionEventHandlers,
} from "@azure/event-hubs";
import type { TokenCredential } from "@azure/identity";
import type { ContainerClient } from "@azure/storage-blob";
import { BlobPartitionRecords, type PartitionRecords } from "../checkpoint/blob-records.js";
import {
  createBlobCheckpointStore,
  createContainerClient,
  prepareCheckpointContainer,
} from "../checkpoint/blob-store.js";
import { GuardedCheckpointStore } from "../checkpoint/guarded-store.js";
import { type MetadataWriter, metadataWriterFor } from "../checkpoint/metadata-writer.js";
import { ThreadPartitionRecords } from "../checkpoint/records-thread.js";
import { withPoisonChecks } from "../deadletter/poison.js";
import { prepareFailureHandling } from "../deadletter/worker-setup.js";
import { EhwError } from "../errors.js";
import { type HandlerRegistry, loadHandlerRegistry } from "../handlers/registry.js";
import { type Logger, redactSecrets, silentLogger } from "../observability/logger.js";
import type { WorkerObserver } from "../observability/observer.js";
import { toEventPosition, type WorkerConfig } from "./config.js";
import { createConsumerClient, probeEventHub } from "./connect.js";
import { decodeBodies } from "./event-body.js";
import type { FailureHandler } from "./failure.js";
import { LagReader } from "./lag-reader.js";
import type { StopOptions, StopResult, WorkerState, WorkerStatus } from "./lifecycle.js";
import { PartitionProcessor, type PartitionStatus } from "./partition-processor.js";

/** Options of {@link Worker}. */
export interface WorkerOptions {
  /** Logger; default silent. The worker logs under `component: "worker"`. */
  readonly logger?: Logger;
  /** Handlers already loaded; default: loaded from `config.handlers` at start and closed at stop. */
  readonly registry?: HandlerRegistry;
  /**
   * What happens after an event's last failed attempt; default: each pipeline's `onFailure` policy
   * (`deadletter` into `config.deadLetter.containerName`, `stop`, or `skip`).
   */
  readonly failureHandler?: FailureHandler;
  /** Credential for namespace / account URL auth; default a DefaultAzureCredential. */
  readonly credential?: TokenCredential;
  /** Directory handler package names resolve from; default the working directory. */
  readonly handlerBaseDir?: string;
  /** Milliseconds the start-up check of the hub may take; default 15000. */
  readonly probeTimeoutMs?: number;
  /** Receives ownership changes and per-partition counts (metrics); default none, so nothing is measured. */
  readonly observer?: WorkerObserver;
}

/** Milliseconds allowed past the drain deadline for final checkpoints and abandoning ownership. */
const CLOSE_GRACE_MS = 15_000;
/** Milliseconds allowed for closing the AMQP connection. */
const CLIENT_CLOSE_MS = 10_000;

/** A horizontally scalable Event Hubs worker; see the module comment. */
export class Worker {
  private current: WorkerState = "starting";
  private readonly logger: Logger;
  private readonly processors = new Map<string, PartitionProcessor>();
  /**
   * The processor of each SDK pump, keyed by the pump's context object: after a loss the SDK may
   * start a new pump for the partition before the old one's processClose, which must close the
   * old processor, not the new one.
   */
  private readonly byPump = new WeakMap<PartitionContext, PartitionProcessor>();
  /** The last error the SDK reported per partition: the cause of an unexpected pump close. */
  private readonly lastErrors = new Map<string, Record<string, unknown>>();
  private failureHandler: FailureHandler | undefined;
  private registry: HandlerRegistry | undefined;
  private client: EventHubConsumerClient | undefined;
  private subscription: Subscription | undefined;
  /** Reads owned partitions' last enqueued sequence numbers for the lag metric; only with an observer. */
  private lagReader: LagReader | undefined;
  private store: GuardedCheckpointStore | undefined;
  private containerClient: ContainerClient | undefined;
  /** The checkpoint update path outside the storage SDK, when the credentials allow; closed at stop. */
  private metadataWriter: MetadataWriter | undefined;
  /** The checkpoint thread, when checkpoint calls run on one; closed last at stop. */
  private recordsThread: ThreadPartitionRecords | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<StopResult> | undefined;
  private drainDeadlineAtMs: number | undefined;
  private allDrained = true;
  /** Adds `workerId` to lines unless the parent logger already carries it. */
  private readonly idField: Record<string, string>;

  constructor(
    readonly config: WorkerConfig,
    private readonly options: WorkerOptions = {},
  ) {
    const parent = options.logger ?? silentLogger();
    this.logger = parent.child({ component: "worker" });
    this.idField = "workerId" in parent.bindings() ? {} : { workerId: this.ownerId };
    this.failureHandler = options.failureHandler;
  }

  /** Lifecycle state. */
  get state(): WorkerState {
    return this.current;
  }

  /** Owner id in ownership records (the config's ownerId). */
  get ownerId(): string {
    return this.config.loadBalancing.ownerId;
  }

  /**
   * Loads the handlers (failing before anything connects), checks the checkpoint container and
   * the hub, and subscribes. Rejects with HandlerLoadError / ConfigError / ConnectionError; the
   * worker is then `failed` with nothing left open. Call once.
   */
  start(): Promise<void> {
    if (this.starting !== undefined || this.stopping !== undefined) {
      return Promise.reject(new EhwError("WORKER_MISUSE", "start() may be called only once, before stop()"));
    }
    this.starting = this.doStart();
    return this.starting;
  }

  /**
   * Stops receiving, drains every partition until the deadline, writes final checkpoints, gives up
   * ownership and closes the client. Resolves `{ drained }`: false when the deadline passed with
   * unfinished events (they are not checkpointed and will be delivered again). Idempotent.
   */
  stop(options: StopOptions = {}): Promise<StopResult> {
    this.stopping ??= this.doStop(options);
    return this.stopping;
  }

  /** A snapshot of the worker and its partitions. */
  status(): WorkerStatus {
    const partitions = [...this.processors.values()]
      .map((p) => p.status())
      .sort((a, b) => Number(a.partitionId) - Number(b.partitionId));
    return {
      state: this.current,
      workerId: this.ownerId,
      eventHubName: this.config.eventHubs.eventHubName,
      consumerGroup: this.config.eventHubs.consumerGroup,
      partitions,
      stoppedPartitions: partitions.filter((p) => p.state === "stopped").map((p) => p.partitionId),
    };
  }

  /** Reads the hub's properties through the worker's client (readiness probes); rejects when it cannot. */
  async probeEventHub(signal: AbortSignal): Promise<void> {
    if (this.client === undefined) throw new EhwError("WORKER_NOT_RUNNING", "the worker has no client");
    await this.client.getEventHubProperties({ abortSignal: signal });
  }

  /** Checks that the checkpoint container exists and answers (readiness probes); rejects otherwise. */
  async probeCheckpointStore(signal: AbortSignal): Promise<void> {
    if (this.containerClient === undefined) throw new EhwError("WORKER_NOT_RUNNING", "no checkpoint store");
    if (!(await this.containerClient.exists({ abortSignal: signal }))) {
      throw new EhwError("CHECKPOINT_CONTAINER_MISSING", "the checkpoint container does not exist");
    }
  }

  private async doStart(): Promise<void> {
    const { config } = this;
    try {
      this.registry =
        this.options.registry ??
        (await loadHandlerRegistry(config.handlers, {
          logger: this.logger,
          workerId: this.ownerId,
          baseDir: this.options.handlerBaseDir,
        }));
      const containerClient = createContainerClient(config.storage, { credential: this.options.credential });
      this.containerClient = containerClient;
      await prepareCheckpointContainer(containerClient, config.storage, this.logger);
      // Poison checks (maxEventBytes, expectJson) apply to injected registries as well.
      this.registry = withPoisonChecks(this.registry, config.handlers);
      this.failureHandler ??= (
        await prepareFailureHandling({
          handlers: config.handlers,
          storage: config.storage,
          deadLetterContainer: config.deadLetter.containerName,
          eventHubName: config.eventHubs.eventHubName,
          consumerGroup: config.eventHubs.consumerGroup,
          logger: this.logger,
          credential: this.options.credential,
        })
      ).failureHandler;
      this.store = new GuardedCheckpointStore(createBlobCheckpointStore(containerClient), {
        ownerId: this.ownerId,
        records: this.partitionRecords(containerClient),
        onLost: (partitionId, reason) => this.processors.get(partitionId)?.markLost(reason),
        ownershipCheckIntervalMs: config.processing.ownershipCheckIntervalMs,
        logger: this.logger,
      });
      this.client = createConsumerClient(config, this.store, this.options.credential);
      if (this.options.observer !== undefined) {
        this.lagReader = new LagReader(this.client, this.logger);
        this.lagReader.start();
      }
      // The checkpoint thread starts while the hub is probed, so that the first claims find it ready.
      const [hub] = await Promise.all([
        probeEventHub(this.client, config, this.options.probeTimeoutMs ?? 15_000),
        this.recordsThread?.open(),
      ]);
      this.logger.info(
        { ...this.idField, partitionIds: hub.partitionIds, namespace: this.client.fullyQualifiedNamespace },
        "event hub reachable; subscribing",
      );
      this.subscription = this.client.subscribe(this.handlers(), {
        maxBatchSize: config.processing.maxBatchSize,
        maxWaitTimeInSeconds: config.processing.maxWaitTimeMs / 1000,
        prefetchCount: config.processing.prefetchCount,
        startPosition: this.startPosition(hub.partitionIds),
        // Bodies are decoded by decodeBodies, the same way but cheaper for bytes that are not JSON.
        skipParsingBodyAsJson: true,
      });
      this.setState("running");
    } catch (err) {
      this.setState("failed");
      await this.release();
      throw err;
    }
  }

  /**
   * Where the guarded store's checkpoint writes and ownership reads go: this thread, or, when
   * `checkpointThread` asks for it, a helper thread with its own container client built from the
   * same settings (not when the storage credential is an object given in code: a thread cannot be
   * handed one). Either way checkpoint updates bypass the storage SDK when the connection string
   * allows (see metadata-writer.ts).
   */
  private partitionRecords(containerClient: ContainerClient): PartitionRecords {
    const { storage, processing } = this.config;
    const credentialInCode = storage.accountUrl !== undefined && this.options.credential !== undefined;
    this.metadataWriter = metadataWriterFor(storage.connectionString);
    const local = new BlobPartitionRecords(containerClient, { metadataWriter: this.metadataWriter });
    if (!processing.checkpointThread || credentialInCode) return local;
    this.recordsThread = new ThreadPartitionRecords(storage, { fallback: local, logger: this.logger });
    return this.recordsThread;
  }

  /**
   * One position for every partition, or a map over all of them when there are overrides: the SDK
   * reads a partition missing from a map from the latest event, not from the default.
   */
  private startPosition(partitionIds: readonly string[]): EventPosition | Record<string, EventPosition> {
    const { startPosition, startPositions } = this.config.processing;
    if (Object.keys(startPositions).length === 0) return toEventPosition(startPosition);
    const map: Record<string, EventPosition> = {};
    for (const id of partitionIds) map[id] = toEventPosition(startPositions[id] ?? startPosition);
    return map;
  }

  private handlers(): SubscriptionEventHandlers {
    return {
      processInitialize: async (ctx) => {
        this.openPartition(ctx);
      },
      processEvents: async (events: ReceivedEventData[], ctx: PartitionContext) => {
        const processor = this.byPump.get(ctx) ?? this.openPartition(ctx);
        decodeBodies(events);
        // Rejects with PartitionLostError once the guarded store knows the partition is lost.
        await processor.enqueue(events);
      },
      processClose: async (reason, ctx) => {
        await this.closePartition(ctx, reason);
      },
      processError: async (error, ctx) => {
        this.reportError(error, ctx.partitionId);
      },
    };
  }

  private openPartition(ctx: PartitionContext): PartitionProcessor {
    const { config } = this;
    const { partitionId } = ctx;
    const store = this.store;
    const registry = this.registry;
    const client = this.client;
    const failureHandler = this.failureHandler;
    if (
      store === undefined ||
      registry === undefined ||
      client === undefined ||
      failureHandler === undefined
    ) {
      throw new EhwError("WORKER_MISUSE", "a partition opened before the worker started");
    }
    const observer = this.options.observer?.partitionClaimed(
      partitionId,
      store.lastSequenceNumber(partitionId),
    );
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
      logger: this.logger,
      drainTimeoutMs: config.shutdown.drainTimeoutMs,
      onStateChange: (status) => this.onPartitionState(status),
      observer,
    });
    if (observer !== undefined) this.lagReader?.track(partitionId, observer);
    if (this.drainDeadlineAtMs !== undefined) processor.setDrainDeadline(this.drainDeadlineAtMs);
    this.processors.set(partitionId, processor);
    this.byPump.set(ctx, processor);
    this.logger.info(
      { ...this.idField, partitionId, reason: "claimed", checkpoint: store.lastSequenceNumber(partitionId) },
      "partition claimed",
    );
    return processor;
  }

  private async closePartition(ctx: PartitionContext, reason: string): Promise<void> {
    const { partitionId } = ctx;
    const processor = this.byPump.get(ctx);
    if (processor === undefined) return;
    const result = await processor.close(reason);
    if (this.processors.get(partitionId) === processor) {
      this.processors.delete(partitionId);
      this.lagReader?.untrack(partitionId);
    }
    this.options.observer?.partitionClosed(partitionId, reason);
    if (this.current === "draining" && !result.drained) this.allDrained = false;
    if (reason === "Shutdown" && this.current === "running") await this.relinquish(partitionId);
    // A loss was logged when the processor went lost (onPartitionLost), possibly long before.
    if (processor.status().state === "lost") return;
    this.logger.info(
      {
        ...this.idField,
        partitionId,
        reason,
        drained: result.drained,
        checkpoint: result.lastCheckpoint?.sequenceNumber,
      },
      "partition released",
    );
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
    const store = this.store;
    const cause = this.lastErrors.get(partitionId);
    this.lastErrors.delete(partitionId);
    if (store === undefined || this.processors.has(partitionId)) return;
    try {
      const released = await store.relinquish(partitionId);
      this.logger.warn(
        { ...this.idField, partitionId, released, cause },
        "partition closed unexpectedly (the SDK stopped receiving); ownership given up for re-claiming",
      );
    } catch (err) {
      this.logger.warn(
        { ...this.idField, partitionId, cause, err },
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
    this.logger.error(
      { ...this.idField, partitionId: status.partitionId, checkpoint: status.lastCheckpoint?.sequenceNumber },
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
    this.logger.info(
      {
        ...this.idField,
        partitionId,
        reason: "OwnershipLost",
        drained: false,
        checkpoint: status.lastCheckpoint?.sequenceNumber,
      },
      "partition lost to another worker",
    );
  }

  private reportError(error: Error, partitionId: string): void {
    const code = (error as { code?: unknown }).code;
    // An AggregateError (the SDK's spent retries) has an empty message: its parts say what failed.
    const parts = (error as { errors?: unknown }).errors;
    const inner = Array.isArray(parts)
      ? parts.map((e: { name?: unknown; code?: unknown }) => String(e?.code ?? e?.name))
      : undefined;
    const err = { name: error.name, code, message: redactSecrets(error.message), errors: inner };
    const where = { ...this.idField, partitionId: partitionId || undefined };
    if (partitionId) this.lastErrors.set(partitionId, err);
    // Stealing shows up as ReceiverDisconnectedError, then processClose("OwnershipLost"): rebalancing.
    if (code === "ReceiverDisconnectedError") {
      this.logger.info({ ...where, err }, "partition taken over by another worker");
      return;
    }
    if (error.name === "AbortError") return;
    this.logger.warn({ ...where, err }, "event hubs client error (the SDK retries)");
  }

  private async doStop(options: StopOptions): Promise<StopResult> {
    if (this.starting !== undefined) await this.starting.catch(() => undefined);
    if (this.current !== "running") {
      this.setState(this.current === "failed" ? "failed" : "stopped");
      return { drained: true };
    }
    const deadlineMs = options.deadlineMs ?? this.config.shutdown.drainTimeoutMs;
    this.drainDeadlineAtMs = Date.now() + deadlineMs;
    this.setState("draining");
    for (const processor of this.processors.values()) processor.setDrainDeadline(this.drainDeadlineAtMs);
    this.logger.info({ ...this.idField, deadlineMs, partitions: this.processors.size }, "draining");
    const closed = await within(this.subscription?.close(), deadlineMs + CLOSE_GRACE_MS);
    if (!closed) this.logger.warn({ ...this.idField }, "subscription did not close in time");
    await this.release();
    this.setState("stopped");
    const drained = closed && this.allDrained;
    this.logger.info({ ...this.idField, drained }, "worker stopped");
    return { drained };
  }

  /** Closes the client and, when the worker loaded them, the handlers; logs failures. */
  private async release(): Promise<void> {
    this.lagReader?.stop();
    this.lagReader = undefined;
    const client = this.client;
    this.client = undefined;
    if (client !== undefined && !(await within(client.close(), CLIENT_CLOSE_MS))) {
      this.logger.warn({ ...this.idField }, "event hubs client did not close in time");
    }
    const registry = this.registry;
    this.registry = undefined;
    if (registry !== undefined && this.options.registry === undefined) {
      await registry.close().catch((err: unknown) => this.logger.error({ err }, "closing handlers failed"));
    }
    // Last: the final checkpoints of the close above went through it.
    const recordsThread = this.recordsThread;
    this.recordsThread = undefined;
    await recordsThread?.close();
    this.metadataWriter?.close();
    this.metadataWriter = undefined;
  }

  private setState(state: WorkerState): void {
    if (this.current === state) return;
    this.current = state;
    this.logger.debug({ ...this.idField, state }, "worker state");
  }
}

/** Creates a worker; see {@link Worker}. */
export function createWorker(config: WorkerConfig, options: WorkerOptions = {}): Worker {
  return new Worker(config, options);
}

/** Whether `promise` settled within `ms` (a rejection is logged by the caller's SDK and counts as settled). */
async function within(promise: Promise<unknown> | undefined, ms: number): Promise<boolean> {
  if (promise === undefined) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
