import type { CompiledHandlersConfig } from "./handlers.js";
import type { HandoverConfig } from "./handover.js";
import type { ObservabilityConfig } from "./observability.js";
import type { OrderingMode } from "./ordering.js";
import type { SettingKey } from "./settings.js";
import type { StartPositionSpec } from "./start-position.js";

/** pino log levels accepted by `logLevel`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** A pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** Load-balancing strategies of the SDK. */
export const LOAD_BALANCING_STRATEGIES = ["balanced", "greedy"] as const;
/**
 * `balanced` claims one partition per loop; `greedy` claims, in one loop, every partition it needs
 * to reach its share (all of them when no other owner is active), free ones first, then stolen.
 */
export type LoadBalancingStrategy = (typeof LOAD_BALANCING_STRATEGIES)[number];
export { ORDERING_MODES } from "./ordering.js";

/** Where events come from. Exactly one of `connectionString` / `fullyQualifiedNamespace` is set. */
export interface EventHubsConfig {
  /** Connection string (a secret); when set, no credential is used. */
  readonly connectionString: string | undefined;
  /** Namespace host for DefaultAzureCredential, e.g. `myns.servicebus.windows.net`. */
  readonly fullyQualifiedNamespace: string | undefined;
  /** Host the client connects to: the Endpoint host of the connection string, or the namespace. */
  readonly endpointHost: string;
  /** Event hub name (from the setting or the connection string's EntityPath). */
  readonly eventHubName: string;
  /** Consumer group; default `$Default`. */
  readonly consumerGroup: string;
}

/** Where checkpoints and ownership live. Exactly one of `connectionString` / `accountUrl` is set. */
export interface StorageConfig {
  /** Storage connection string (a secret). */
  readonly connectionString: string | undefined;
  /** Account URL for DefaultAzureCredential, e.g. `https://acct.blob.core.windows.net`. */
  readonly accountUrl: string | undefined;
  /** Blob container name, validated against the Blob naming rules. */
  readonly containerName: string;
  /** Create the container when missing; default true. */
  readonly createContainer: boolean;
}

/** Where dead-lettered events go (pipelines with the `deadletter` failure policy). */
export interface DeadLetterConfig {
  /** Blob container in the checkpoint storage account; default `<containerName>-deadletter`. */
  readonly containerName: string;
}

/** Per-partition processing. */
export interface ProcessingConfig {
  /** Checkpoint after this many events joined the completed prefix; default 100, ≥ 1. */
  readonly checkpointEvery: number;
  /** Checkpoint new progress at least this often, milliseconds; default 5000, ≥ 100. */
  readonly checkpointIntervalMs: number;
  /**
   * Checkpoint as soon as the completed prefix reaches the end of a batch shorter than
   * `maxBatchSize` that follows a full one (a drained backlog), without waiting for N or T;
   * default true.
   */
  readonly checkpointOnCatchUp: boolean;
  /** Events in flight per partition; default 16, ≥ 1 (1 in effect under `partition` ordering). */
  readonly concurrency: number;
  /** Ordering mode; default `partition`. */
  readonly ordering: OrderingMode;
  /** Most events per `processEvents` batch; default 100. */
  readonly maxBatchSize: number;
  /** Milliseconds the SDK waits to fill a batch; default 1000. */
  readonly maxWaitTimeMs: number;
  /** Events prefetched per receiver; default 300, ≥ maxBatchSize. */
  readonly prefetchCount: number;
  /** Start of partitions without a checkpoint; default earliest. */
  readonly startPosition: StartPositionSpec;
  /** Per-partition overrides of `startPosition`, by partition id; default none. */
  readonly startPositions: Readonly<Record<string, StartPositionSpec>>;
  /** Handler attempts per event (first try included); default 5. */
  readonly maxAttempts: number;
  /** Backoff scale of handler retries, milliseconds; default 200. */
  readonly retryBaseDelayMs: number;
  /** Upper bound of a handler retry backoff, milliseconds; default 30000. */
  readonly retryMaxDelayMs: number;
  /** Time limit of one handler attempt, milliseconds; default 60000; 0 = none. */
  readonly handlerTimeoutMs: number;
  /**
   * Milliseconds a confirmed ownership is trusted before a checkpoint reads the ownership blob
   * again; default 1000; 0 = read before every checkpoint. See GuardedCheckpointStoreOptions.
   */
  readonly ownershipCheckIntervalMs: number;
}

/**
 * SDK load balancing. The defaults differ from the SDK's (balanced, 10 s, 60 s): a lone worker
 * owns every partition after its first loop, and a crashed worker's partitions are processing
 * again within expiry + one loop, about 20 s. The README counts the storage calls they cost.
 */
export interface LoadBalancingConfig {
  /**
   * Default `greedy`: claims every partition it needs in one loop. `balanced` claims one per loop,
   * so a lone worker needs one loop per partition (32 partitions at 5 s: over 2.5 minutes).
   */
  readonly strategy: LoadBalancingStrategy;
  /** Milliseconds between load-balancing loops (and ownership renewals); default 5000. */
  readonly updateIntervalMs: number;
  /**
   * Milliseconds until an unrenewed ownership expires; default 15000, ≥ 3 × updateIntervalMs, so
   * that two missed renewals in a row still do not let a live owner's partition go.
   */
  readonly ownershipExpirationMs: number;
  /** Owner id in ownership records; default a random UUID per process. */
  readonly ownerId: string;
}

/** SDK retry options (`retryOptions` of the client). */
export interface SdkRetryConfig {
  /** Milliseconds before a retry or reconnect; default 500 (the SDK's own 30 s is too slow). */
  readonly retryDelayMs: number;
  /** Upper bound of the retry delay, milliseconds; default 5000. */
  readonly maxRetryDelayMs: number;
  /** Retries per operation; default 10. */
  readonly maxRetries: number;
  /** Milliseconds one attempt may take; default 60000. */
  readonly tryTimeoutMs: number;
}

/** The compiled, validated worker configuration; the only config type the runtime sees. */
export interface WorkerConfig {
  readonly eventHubs: EventHubsConfig;
  readonly storage: StorageConfig;
  readonly deadLetter: DeadLetterConfig;
  readonly processing: ProcessingConfig;
  readonly loadBalancing: LoadBalancingConfig;
  readonly sdkRetry: SdkRetryConfig;
  readonly shutdown: {
    /** Milliseconds shutdown waits for in-flight events; default 30000. */
    readonly drainTimeoutMs: number;
  };
  /** Handlers, pipelines and routes. */
  readonly handlers: CompiledHandlersConfig;
  /** Default `info`. */
  readonly logLevel: LogLevel;
  /** The metrics and health server and the status line of `ehw run`. */
  readonly observability: ObservabilityConfig;
  /** Cooperative hand-over of partitions between live workers. */
  readonly handover: HandoverConfig;
}

/** Default values of the settings that have one (`ownerId`'s is generated per process). */
export const WORKER_DEFAULTS = {
  consumerGroup: "$Default",
  createContainer: true,
  checkpointEvery: 100,
  checkpointIntervalMs: 5000,
  checkpointOnCatchUp: true,
  concurrency: 16,
  ordering: "partition",
  maxBatchSize: 100,
  maxWaitTimeMs: 1000,
  prefetchCount: 300,
  startPosition: "earliest",
  maxAttempts: 5,
  retryBaseDelayMs: 200,
  retryMaxDelayMs: 30_000,
  handlerTimeoutMs: 60_000,
  ownershipCheckIntervalMs: 1000,
  drainTimeoutMs: 30_000,
  strategy: "greedy",
  updateIntervalMs: 5000,
  ownershipExpirationMs: 15_000,
  retryDelayMs: 500,
  maxRetryDelayMs: 5000,
  maxRetries: 10,
  tryTimeoutMs: 60_000,
  logLevel: "info",
  metricsPort: 9464,
  metricsHost: "127.0.0.1",
  statusIntervalMs: 0,
} as const satisfies Partial<Record<SettingKey, unknown>>;
