import type { RawHandlersOptions } from "./handlers.js";

/** Where a raw value came from; error messages name the setting the way the user wrote it. */
export type SettingSource =
  | { readonly kind: "flag"; readonly name: string }
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "file"; readonly name: string; readonly path: string }
  | { readonly kind: "default"; readonly name: string };

/** A raw value as it came in (a string from flags and env, any JSON value from the file) and its source. */
export interface RawSetting<T = unknown> {
  readonly value: T;
  readonly source: SettingSource;
}

/** Description of one scalar setting: its three spellings, its default and its meaning. */
export interface SettingSpec {
  /** Command-line flag of `ehw run`, e.g. `--checkpoint-every`. */
  readonly flag: string;
  /** Environment variable, e.g. `EHW_CHECKPOINT_EVERY`. */
  readonly env: string;
  /** Default as shown in help and docs; undefined when there is none. */
  readonly defaultText?: string;
  /** What the setting means, with its unit; used in help and in error messages. */
  readonly meaning: string;
  /** True for values that must never be logged or echoed (connection strings). */
  readonly secret?: boolean;
}

/**
 * Every scalar setting by its JSON config file key. The flag and env spellings derive from the key
 * in one consistent way; the handler sections (`handlers`, `pipelines`, `routes`) and the
 * per-partition `startPositions` map are described separately.
 */
export const SETTINGS = {
  eventHubConnectionString: spec("eventhub-connection-string", {
    meaning:
      "Event Hubs connection string (Endpoint, SharedAccessKeyName, SharedAccessKey; may hold EntityPath)",
    secret: true,
  }),
  eventHubNamespace: spec("eventhub-namespace", {
    meaning:
      "Event Hubs fully qualified namespace, e.g. myns.servicebus.windows.net, used with DefaultAzureCredential",
  }),
  eventHubName: spec("eventhub-name", {
    meaning: "event hub name; required unless the connection string has EntityPath",
  }),
  consumerGroup: spec("consumer-group", { defaultText: "$Default", meaning: "consumer group" }),
  storageConnectionString: spec("storage-connection-string", {
    meaning: "Blob storage connection string for checkpoints and ownership",
    secret: true,
  }),
  storageAccountUrl: spec("storage-account-url", {
    meaning:
      "Blob storage account URL, e.g. https://acct.blob.core.windows.net, used with DefaultAzureCredential",
  }),
  containerName: spec("container-name", {
    meaning:
      "blob container for checkpoints and ownership (3-63 chars: lower-case letters, digits, single hyphens)",
  }),
  createContainer: spec("create-container", {
    defaultText: "true",
    meaning: "create the container when it does not exist (true | false)",
  }),
  deadLetterContainer: spec("dead-letter-container", {
    defaultText: "<containerName>-deadletter",
    meaning:
      "blob container (in the checkpoint storage account) for dead-lettered events, one JSON document per event; created like the checkpoint container",
  }),
  checkpointEvery: spec("checkpoint-every", {
    defaultText: "100",
    meaning: "completed events between checkpoints, ≥ 1",
  }),
  checkpointIntervalMs: spec("checkpoint-interval-ms", {
    defaultText: "5000",
    meaning: "milliseconds after which new progress is checkpointed anyway, ≥ 100",
  }),
  checkpointOnCatchUp: spec("checkpoint-on-catch-up", {
    defaultText: "true",
    meaning:
      "checkpoint at once when a backlog has drained, i.e. a batch shorter than maxBatchSize follows a full one (true | false)",
  }),
  concurrency: spec("concurrency", { defaultText: "16", meaning: "events in flight per partition, ≥ 1" }),
  ordering: spec("ordering", {
    defaultText: "partition",
    meaning: "partition (one at a time, in order) | key (in order per partition key) | none (any order)",
  }),
  maxBatchSize: spec("max-batch-size", { defaultText: "100", meaning: "most events per receive batch, ≥ 1" }),
  maxWaitTimeMs: spec("max-wait-time-ms", {
    defaultText: "1000",
    meaning: "milliseconds a receive waits to fill a batch, ≥ 1",
  }),
  prefetchCount: spec("prefetch-count", {
    defaultText: "300",
    meaning: "events the receiver prefetches, ≥ maxBatchSize",
  }),
  startPosition: spec("start-position", {
    defaultText: "earliest",
    meaning: "where partitions without a checkpoint start: earliest | latest | an ISO-8601 time",
  }),
  maxAttempts: spec("max-attempts", { defaultText: "5", meaning: "handler attempts per event, ≥ 1" }),
  retryBaseDelayMs: spec("retry-base-delay-ms", {
    defaultText: "200",
    meaning: "milliseconds of the first handler retry backoff, ≥ 0",
  }),
  retryMaxDelayMs: spec("retry-max-delay-ms", {
    defaultText: "30000",
    meaning: "upper bound of a handler retry backoff in milliseconds, ≥ retryBaseDelayMs",
  }),
  ownershipCheckIntervalMs: spec("ownership-check-interval-ms", {
    defaultText: "1000",
    meaning:
      "milliseconds a confirmed ownership is trusted before a checkpoint reads the ownership blob again, ≥ 0 (0 = before every checkpoint)",
  }),
  handlerTimeoutMs: spec("handler-timeout-ms", {
    defaultText: "60000",
    meaning: "milliseconds one handler attempt may take before it counts as failed; 0 = no limit",
  }),
  drainTimeoutMs: spec("drain-timeout-ms", {
    defaultText: "30000",
    meaning: "milliseconds shutdown waits for in-flight events before closing, ≥ 0",
  }),
  strategy: spec("strategy", {
    defaultText: "greedy",
    meaning:
      "load-balancing strategy: greedy (its whole share in one loop) | balanced (one partition per loop)",
  }),
  updateIntervalMs: spec("update-interval-ms", {
    defaultText: "5000",
    meaning: "milliseconds between load-balancing loops and ownership renewals, ≥ 100",
  }),
  ownershipExpirationMs: spec("ownership-expiration-ms", {
    defaultText: "15000",
    meaning: "milliseconds after which an unrenewed ownership expires, ≥ 3 × updateIntervalMs",
  }),
  handover: spec("handover", {
    defaultText: "true",
    meaning:
      "cooperative hand-over (true | false): ask a live owner for a partition and answer such requests, instead of stealing",
  }),
  handoverDrainTimeoutMs: spec("handover-drain-timeout-ms", {
    defaultText: "10000",
    meaning: "milliseconds an owner lets in-flight events of a partition it hands over finish, ≥ 0",
  }),
  handoverTimeoutMs: spec("handover-timeout-ms", {
    defaultText: "2 loops + drain",
    meaning:
      "milliseconds until an unanswered hand-over request falls back to a steal: 2 × updateIntervalMs + handoverDrainTimeoutMs unless set",
  }),
  ownerId: spec("owner-id", {
    defaultText: "a random UUID per process",
    meaning: "owner id written to ownership records",
  }),
  retryDelayMs: spec("retry-delay-ms", {
    defaultText: "500",
    meaning: "milliseconds the SDK waits before retrying a failed operation or reconnecting, ≥ 0",
  }),
  maxRetryDelayMs: spec("max-retry-delay-ms", {
    defaultText: "5000",
    meaning: "upper bound of the SDK retry delay in milliseconds, ≥ retryDelayMs",
  }),
  maxRetries: spec("max-retries", { defaultText: "10", meaning: "SDK retries per operation, ≥ 0" }),
  tryTimeoutMs: spec("try-timeout-ms", {
    defaultText: "60000",
    meaning: "milliseconds one SDK operation attempt may take, ≥ 1",
  }),
  logLevel: spec("log-level", {
    defaultText: "info",
    meaning: "fatal | error | warn | info | debug | trace | silent",
  }),
  metricsPort: spec("metrics-port", {
    defaultText: "9464",
    meaning:
      "port on which ehw run serves /metrics, /healthz and /readyz: 0-65535 (0 = a free port, logged) | off",
  }),
  metricsHost: spec("metrics-host", {
    defaultText: "127.0.0.1",
    meaning:
      "interface of the metrics and health server; 0.0.0.0 in containers, so scrapers and probes reach it",
  }),
  statusIntervalMs: spec("status-interval-ms", {
    defaultText: "0",
    meaning: "milliseconds between 'worker status' log lines of ehw run, ≥ 0 (0 = none)",
  }),
  hubRetentionMs: spec("hub-retention-ms", {
    meaning:
      "the hub's message retention in milliseconds (e.g. 604800000 for 7 days), ≥ 1; when set, /metrics and ehw status show the time left before unprocessed events are dropped",
  }),
  tracing: spec("tracing", {
    defaultText: "off",
    meaning:
      "otlp (spans per handler attempt, exported over OTLP/HTTP as the OTEL_* variables say) | off (no span, no SDK loaded)",
  }),
  tracingParent: spec("tracing-parent", {
    defaultText: "link",
    meaning: "how attempt spans relate to the producer's trace context: link (own trace, linked) | child",
  }),
  handler: spec("handler", {
    meaning: "shortcut for one handler in pipeline default: log | ledger | a module path | a package name",
  }),
  ledgerFile: spec("ledger-file", {
    meaning: "file the ledger handler of the --handler shortcut appends to",
  }),
} as const satisfies Record<string, SettingSpec>;

/** The JSON config file key of a scalar setting. */
export type SettingKey = keyof typeof SETTINGS;

/**
 * Settings that no longer exist, by config file key, with what to do instead: given in any of its
 * three spellings, each is refused with that advice rather than a "did you mean" for a setting that
 * only looks alike (or, for a variable, silence).
 */
export const REMOVED_SETTINGS: Readonly<Record<string, SettingSpec>> = {
  checkpointThread: spec("checkpoint-thread", {
    meaning:
      "was removed: checkpoint writes always go through the storage SDK on the event loop; remove it (to spend less time on checkpoints, raise checkpointEvery / --checkpoint-every)",
  }),
};

/** Top-level keys of the JSON config file besides the scalar settings. */
export const SECTION_KEYS = ["startPositions", "handlers", "pipelines", "routes"] as const;

/**
 * Raw options: every value as it came in, each carrying its source. Nothing is parsed or
 * defaulted yet; `readRawWorkerOptions` produces this, `compileWorkerConfig` consumes it.
 */
export type RawWorkerOptions = { [K in SettingKey]?: RawSetting } & {
  /** Per-partition start positions by partition id, each with its own source. */
  startPositions?: Record<string, RawSetting>;
  /** The handler sections of the config file (`handlers`, `pipelines`, `routes`), with their file source. */
  handlerSections?: RawSetting<RawHandlersOptions>;
  /** The OTEL_* variables the tracing section reads, by name (src/config/tracing.ts). */
  otelVariables?: Readonly<Record<string, string>>;
};

function spec(flagName: string, rest: Omit<SettingSpec, "flag" | "env">): SettingSpec {
  return { flag: `--${flagName}`, env: `EHW_${flagName.toUpperCase().replaceAll("-", "_")}`, ...rest };
}
