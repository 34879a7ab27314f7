/**
 * The worker: loads the handlers, checks storage and the hub, subscribes to every partition through
 * the SDK's load balancer with the guarded Blob checkpoint store (subscription.ts), keeps one
 * PartitionProcessor per owned partition (partition-set.ts), and shuts down by draining within a
 * deadline. The SDK
 * abandons ownership only after every `processClose` returned (EventProcessor.stop:
 * removeAllPumps, then abandonPartitionOwnerships), which is why the final checkpoint is written
 * inside processClose.
 */
import type { EventHubConsumerClient, Subscription } from "@azure/event-hubs";
import type { TokenCredential } from "@azure/identity";
import type { ContainerClient } from "@azure/storage-blob";
import { createContainerClient, prepareCheckpointContainer } from "../checkpoint/blob-store.js";
import { EhwError } from "../common/errors.js";
import type { WorkerConfig } from "../config/worker.js";
import { type FailureHandler, reportingFailureHandler } from "../handlers/failure.js";
import { type HandlerRegistry, loadHandlerRegistry } from "../handlers/registry.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import type { WorkerObserver } from "../observability/observer.js";
import type { AttemptTracer } from "../observability/tracing.js";
import { createConsumerClient, createProbeClient, probeEventHub } from "./connect.js";
import { probeConsumerGroup } from "./consumer-group-probe.js";
import { createCheckpointStore } from "./handover-wiring.js";
import { LagReader } from "./lag-reader.js";
import {
  type StopOptions,
  type StopResult,
  untilAborted,
  type WorkerSetup,
  type WorkerState,
  type WorkerStatus,
} from "./lifecycle.js";
import { PartitionSet } from "./partition-set.js";
import { subscribe } from "./subscription.js";

/** Options of {@link Worker}. */
export interface WorkerOptions {
  /** Logger; default silent. The worker logs under `component: "worker"`. */
  readonly logger?: Logger;
  /** Handlers already loaded; default: loaded from `config.handlers` at start and closed at stop. */
  readonly registry?: HandlerRegistry;
  /**
   * What happens after an event's last failed attempt; default: `setup.failureHandler`, else one
   * error line and the partition stops. `createWorker` in src/app applies each pipeline's
   * `onFailure` policy (`deadletter`, `stop`, `skip`).
   */
  readonly failureHandler?: FailureHandler;
  /** Start-up steps of the composition root (input checks, dead-letter store); default none. */
  readonly setup?: WorkerSetup;
  /** Credential for namespace / account URL auth; default a DefaultAzureCredential. */
  readonly credential?: TokenCredential;
  /** Directory handler package names resolve from; default the working directory. */
  readonly handlerBaseDir?: string;
  /** Milliseconds each start-up check of the hub and of the consumer group may take; default 15000. */
  readonly probeTimeoutMs?: number;
  /** Receives ownership changes and per-partition counts (metrics); default none, so nothing is measured. */
  readonly observer?: WorkerObserver;
  /** Opens a span per handler attempt (see src/observability/tracing.ts); default none. */
  readonly tracer?: AttemptTracer;
}

/** Milliseconds allowed past the drain deadline for final checkpoints and abandoning ownership. */
const CLOSE_GRACE_MS = 15_000;
/** Milliseconds allowed for closing the AMQP connection. */
const CLIENT_CLOSE_MS = 10_000;

/** A horizontally scalable Event Hubs worker; see the module comment. */
export class Worker {
  private current: WorkerState = "starting";
  private readonly logger: Logger;
  private readonly partitions: PartitionSet;
  private registry: HandlerRegistry | undefined;
  private client: EventHubConsumerClient | undefined;
  private subscription: Subscription | undefined;
  /** Reads owned partitions' last enqueued sequence numbers for the lag metric; only with an observer. */
  private lagReader: LagReader | undefined;
  private containerClient: ContainerClient | undefined;
  private starting: Promise<void> | undefined;
  /** Aborted by a stop that comes while the start is still under way, so that the stop is prompt. */
  private readonly startAbort = new AbortController();
  private stopping: Promise<StopResult> | undefined;
  /** Adds `workerId` to lines unless the parent logger already carries it. */
  private readonly idField: Record<string, string>;

  constructor(
    readonly config: WorkerConfig,
    private readonly options: WorkerOptions = {},
  ) {
    const parent = options.logger ?? silentLogger();
    this.logger = parent.child({ component: "worker" });
    this.idField = "workerId" in parent.bindings() ? {} : { workerId: this.ownerId };
    this.partitions = new PartitionSet({
      config,
      logger: this.logger,
      idField: this.idField,
      observer: options.observer,
      tracer: options.tracer,
      state: () => this.current,
    });
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
   * Loads the handlers (failing before anything connects), checks the checkpoint container, the
   * hub and the consumer group, and subscribes. Rejects with HandlerLoadError / ConfigError / ConnectionError, or an
   * AbortError when `stop()` was called before it finished; the worker is then `failed` (`stopped`
   * after a stop) with nothing left open. Call once.
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
   * ownership and closes the client. During `start()` it aborts the start instead and resolves as
   * soon as what the start opened is closed. Resolves `{ drained }`: false when the deadline passed with
   * unfinished events (they are not checkpointed and will be delivered again). Idempotent.
   */
  stop(options: StopOptions = {}): Promise<StopResult> {
    this.stopping ??= this.doStop(options);
    return this.stopping;
  }

  /** A snapshot of the worker and its partitions. */
  status(): WorkerStatus {
    const partitions = this.partitions.statuses();
    return {
      state: this.current,
      workerId: this.ownerId,
      eventHubName: this.config.eventHubs.eventHubName,
      consumerGroup: this.config.eventHubs.consumerGroup,
      partitions,
      stoppedPartitions: partitions.filter((p) => p.state === "stopped").map((p) => p.partitionId),
      entityNotFound: this.partitions.entityNotFound(),
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
    const { signal } = this.startAbort;
    const setup = this.options.setup ?? {};
    try {
      const loaded =
        this.options.registry ??
        (await untilAborted(
          loadHandlerRegistry(config.handlers, {
            logger: this.logger,
            workerId: this.ownerId,
            baseDir: this.options.handlerBaseDir,
          }),
          signal,
        ));
      this.registry = loaded;
      const containerClient = createContainerClient(config.storage, { credential: this.options.credential });
      this.containerClient = containerClient;
      await prepareCheckpointContainer(containerClient, config.storage, this.logger, { signal });
      // Input checks apply to injected registries as well.
      const registry = setup.guardRegistry?.(loaded) ?? loaded;
      const failureHandler =
        this.options.failureHandler ??
        (setup.failureHandler === undefined
          ? reportingFailureHandler(this.logger)
          : await untilAborted(setup.failureHandler(signal), signal));
      const { store, claimedVia } = createCheckpointStore({
        config,
        containerClient,
        partitions: this.partitions,
        logger: this.logger,
        idField: this.idField,
        observer: this.options.observer,
      });
      this.client = createConsumerClient(config, store, this.options.credential);
      if (this.options.observer !== undefined) {
        this.lagReader = new LagReader(this.client, this.logger);
        this.lagReader.start();
      }
      this.partitions.use({
        store,
        registry,
        client: this.client,
        failureHandler,
        lagReader: this.lagReader,
        claimedVia,
      });
      const hub = await probeEventHub(this.client, config, this.options.probeTimeoutMs ?? 15_000, signal);
      await this.probeConsumerGroup(hub.partitionIds, signal);
      signal.throwIfAborted();
      this.logger.info(
        { ...this.idField, partitionIds: hub.partitionIds, namespace: this.client.fullyQualifiedNamespace },
        "event hub reachable; subscribing",
      );
      this.subscription = subscribe(this.client, config.processing, this.partitions, hub.partitionIds);
      this.setState("running");
    } catch (err) {
      this.setState(signal.aborted ? "stopped" : "failed");
      await this.release();
      throw err;
    }
  }

  /**
   * Checks the consumer group with a short receiver on one partition, through a client of its own
   * (no store, so no epoch: it never disturbs the fleet's readers). The partition is picked at
   * random so that a fleet starting together spreads its probes instead of queueing on one.
   */
  private async probeConsumerGroup(partitionIds: readonly string[], signal: AbortSignal): Promise<void> {
    const partitionId = partitionIds[Math.floor(Math.random() * partitionIds.length)] ?? "0";
    const client = createProbeClient(this.config, this.options.credential);
    try {
      await probeConsumerGroup(
        client,
        this.config,
        partitionId,
        this.options.probeTimeoutMs ?? 15_000,
        signal,
      );
    } finally {
      if (!(await within(client.close(), CLIENT_CLOSE_MS))) {
        this.logger.warn({ ...this.idField }, "consumer group probe client did not close in time");
      }
    }
  }

  private async doStop(options: StopOptions): Promise<StopResult> {
    // A stop during start-up cuts the start short (its storage and hub calls end at once) rather
    // than waiting for calls that may never answer.
    if (this.current === "starting") this.startAbort.abort();
    if (this.starting !== undefined) await this.starting.catch(() => undefined);
    if (this.current !== "running") {
      this.setState(this.current === "failed" ? "failed" : "stopped");
      return { drained: true };
    }
    const deadlineMs = options.deadlineMs ?? this.config.shutdown.drainTimeoutMs;
    this.setState("draining");
    this.partitions.setDrainDeadline(Date.now() + deadlineMs);
    this.logger.info({ ...this.idField, deadlineMs, partitions: this.partitions.size }, "draining");
    const closed = await within(this.subscription?.close(), deadlineMs + CLOSE_GRACE_MS);
    if (!closed) this.logger.warn({ ...this.idField }, "subscription did not close in time");
    await this.release();
    this.setState("stopped");
    const drained = closed && this.partitions.allDrained;
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
  }

  private setState(state: WorkerState): void {
    if (this.current === state) return;
    this.current = state;
    this.logger.debug({ ...this.idField, state }, "worker state");
  }
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
