/**
 * The worker config in three steps: raw settings (src/config/source.ts reads flags, EHW_*
 * variables and the config file) → defaults applied ({@link applyWorkerDefaults}) → compiled and
 * validated ({@link compileWorkerConfig}), section by section: connections in targets.ts, dead
 * letter in dead-letter.ts, processing, load balancing, SDK retries and handlers here. Only the
 * frozen WorkerConfig flows into the rest of the code.
 */
import { randomUUID } from "node:crypto";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";
import { withArchiveDefaults } from "./archive.js";
import { parseConnectionStringParts } from "./connection.js";
import { compileDeadLetter } from "./dead-letter.js";
import { type CompiledHandlersConfig, compileHandlersConfig, type RawHandlersOptions } from "./handlers.js";
import { compileHandoverConfig } from "./handover.js";
import { compileObservabilityConfig } from "./observability.js";
import { must, rejectPair } from "./setting-rules.js";
import type { RawWorkerOptions, SettingKey } from "./settings.js";
import { compileStartPosition, compileStartPositions, describeStartPosition } from "./start-position.js";
import { compileEventHubs, compileStorage } from "./targets.js";
import {
  parseBoolean,
  parseChoice,
  parseInteger,
  parseString,
  settingWithValue,
  sourceLabel,
} from "./values.js";

export type { OrderingMode } from "./ordering.js";
export type {
  RawSetting,
  RawWorkerOptions,
  SettingKey,
  SettingSource,
  SettingSpec,
} from "./settings.js";
export { SECTION_KEYS, SETTINGS } from "./settings.js";
export type { StartPositionSpec } from "./start-position.js";
export { describeStartPosition, toEventPosition } from "./start-position.js";
export type {
  DeadLetterConfig,
  EventHubsConfig,
  LoadBalancingConfig,
  LoadBalancingStrategy,
  LogLevel,
  ProcessingConfig,
  SdkRetryConfig,
  StorageConfig,
  WorkerConfig,
} from "./types.js";
export { LOAD_BALANCING_STRATEGIES, LOG_LEVELS, ORDERING_MODES, WORKER_DEFAULTS } from "./types.js";

import {
  LOAD_BALANCING_STRATEGIES,
  LOG_LEVELS,
  type LoadBalancingConfig,
  ORDERING_MODES,
  type ProcessingConfig,
  type SdkRetryConfig,
  type StorageConfig,
  WORKER_DEFAULTS,
  type WorkerConfig,
} from "./types.js";

/** Options of {@link compileWorkerConfig}. */
export interface CompileWorkerConfigOptions {
  /** Directory that relative paths from flags and env resolve against (the working directory). */
  readonly baseDir: string;
  /** Source of the default owner id; default `crypto.randomUUID`. */
  readonly randomUUID?: () => string;
}

/** Step two: every setting without a value gets its default, marked with source `default`. */
export function applyWorkerDefaults(
  raw: RawWorkerOptions,
  newOwnerId: () => string = randomUUID,
): RawWorkerOptions {
  const out: RawWorkerOptions = { ...raw };
  const defaults: Partial<Record<SettingKey, unknown>> = { ...WORKER_DEFAULTS, ownerId: newOwnerId() };
  for (const [key, value] of Object.entries(defaults) as Array<[SettingKey, unknown]>) {
    if (out[key] === undefined) out[key] = { value, source: { kind: "default", name: key } };
  }
  return out;
}

/** An integer setting with its minimum, returned with its raw form for cross checks. */
function int(raw: RawWorkerOptions, key: SettingKey, min: number): number {
  return parseInteger(key, must(raw, key), min);
}

/** Cross check `value ≥ bound`, where the bound derives from another setting. */
function atLeast(
  raw: RawWorkerOptions,
  key: SettingKey,
  value: number,
  otherKey: SettingKey,
  bound: number,
  rule: string,
): void {
  if (value < bound) {
    rejectPair(
      [key, must(raw, key)],
      [otherKey, must(raw, otherKey)],
      "is too small for",
      `requires ${rule}`,
    );
  }
}

function compileProcessing(raw: RawWorkerOptions): ProcessingConfig {
  const maxBatchSize = int(raw, "maxBatchSize", 1);
  const prefetchCount = int(raw, "prefetchCount", 1);
  atLeast(raw, "prefetchCount", prefetchCount, "maxBatchSize", maxBatchSize, "prefetchCount ≥ maxBatchSize");
  const retryBaseDelayMs = int(raw, "retryBaseDelayMs", 0);
  const retryMaxDelayMs = int(raw, "retryMaxDelayMs", 0);
  atLeast(
    raw,
    "retryMaxDelayMs",
    retryMaxDelayMs,
    "retryBaseDelayMs",
    retryBaseDelayMs,
    "retryMaxDelayMs ≥ retryBaseDelayMs",
  );
  return {
    checkpointEvery: int(raw, "checkpointEvery", 1),
    checkpointIntervalMs: int(raw, "checkpointIntervalMs", 100),
    checkpointOnCatchUp: parseBoolean("checkpointOnCatchUp", must(raw, "checkpointOnCatchUp")),
    concurrency: int(raw, "concurrency", 1),
    ordering: parseChoice("ordering", must(raw, "ordering"), ORDERING_MODES),
    maxBatchSize,
    maxWaitTimeMs: int(raw, "maxWaitTimeMs", 1),
    prefetchCount,
    startPosition: compileStartPosition(must(raw, "startPosition")),
    startPositions: compileStartPositions(raw.startPositions),
    maxAttempts: int(raw, "maxAttempts", 1),
    retryBaseDelayMs,
    retryMaxDelayMs,
    handlerTimeoutMs: int(raw, "handlerTimeoutMs", 0),
    ownershipCheckIntervalMs: int(raw, "ownershipCheckIntervalMs", 0),
  };
}

function compileLoadBalancing(raw: RawWorkerOptions): LoadBalancingConfig {
  const updateIntervalMs = int(raw, "updateIntervalMs", 100);
  const ownershipExpirationMs = int(raw, "ownershipExpirationMs", 1);
  // A shorter expiry lets a live owner's partitions be stolen between two of its renewals.
  atLeast(
    raw,
    "ownershipExpirationMs",
    ownershipExpirationMs,
    "updateIntervalMs",
    3 * updateIntervalMs,
    `ownershipExpirationMs ≥ 3 × updateIntervalMs = ${3 * updateIntervalMs}`,
  );
  return {
    strategy: parseChoice("strategy", must(raw, "strategy"), LOAD_BALANCING_STRATEGIES),
    updateIntervalMs,
    ownershipExpirationMs,
    ownerId: parseString("ownerId", must(raw, "ownerId")),
  };
}

function compileSdkRetry(raw: RawWorkerOptions): SdkRetryConfig {
  const retryDelayMs = int(raw, "retryDelayMs", 0);
  const maxRetryDelayMs = int(raw, "maxRetryDelayMs", 0);
  atLeast(
    raw,
    "maxRetryDelayMs",
    maxRetryDelayMs,
    "retryDelayMs",
    retryDelayMs,
    "maxRetryDelayMs ≥ retryDelayMs",
  );
  return {
    retryDelayMs,
    maxRetryDelayMs,
    maxRetries: int(raw, "maxRetries", 0),
    tryTimeoutMs: int(raw, "tryTimeoutMs", 1),
  };
}

/** The `--handler` shortcut, or the file's sections, or the default `log` pipeline. */
function compileHandlers(raw: RawWorkerOptions, baseDir: string): CompiledHandlersConfig {
  const handlerSetting = raw.handler;
  const ledgerSetting = raw.ledgerFile;
  if (handlerSetting === undefined) {
    if (ledgerSetting !== undefined) {
      throw new ConfigError(
        `${settingWithValue("ledgerFile", ledgerSetting)} needs the handler shortcut: ledgerFile is the file of --handler ledger (EHW_HANDLER=ledger)`,
        { context: { setting: sourceLabel(ledgerSetting.source) } },
      );
    }
    const sections = raw.handlerSections;
    if (sections === undefined) return compileHandlersConfig(undefined, baseDir);
    const dir = sections.source.kind === "file" ? dirname(sections.source.path) : baseDir;
    return compileHandlersConfig(sections.value, dir);
  }
  const handler = parseString("handler", handlerSetting);
  const isBuiltin = handler === "log" || handler === "ledger";
  if (ledgerSetting !== undefined && handler !== "ledger") {
    rejectPair(
      ["ledgerFile", ledgerSetting],
      ["handler", handlerSetting],
      "applies only with",
      "ledgerFile is the file of the ledger builtin: use it with handler = ledger",
    );
  }
  if (handler === "ledger" && ledgerSetting === undefined) {
    // Named here, in the shortcut's own terms: the ledger's option path (handlers.main.options.file)
    // is not something a user of the shortcut ever wrote.
    throw new ConfigError(
      `${settingWithValue("handler", handlerSetting)} needs the file to append to: set --ledger-file (EHW_LEDGER_FILE, config key ledgerFile)`,
      { context: { setting: "ledgerFile" } },
    );
  }
  const options: Record<string, unknown> = {};
  if (ledgerSetting !== undefined) options.file = resolve(baseDir, parseString("ledgerFile", ledgerSetting));
  const main = isBuiltin ? { builtin: handler, options } : { module: handler };
  const shortcut: RawHandlersOptions = { handlers: { main }, pipelines: { default: ["main"] } };
  try {
    return compileHandlersConfig(shortcut, baseDir);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(`${settingWithValue("handler", handlerSetting)} is not usable: ${err.message}`, {
      cause: err,
      context: { setting: sourceLabel(handlerSetting.source) },
    });
  }
}

/**
 * Step three: applies defaults, parses and validates every setting and the cross-setting rules,
 * and returns the frozen WorkerConfig. Throws ConfigError naming the setting as the user wrote it
 * (flag, env var or file key) and what is allowed; secrets are never part of a message.
 */
export function compileWorkerConfig(
  raw: RawWorkerOptions,
  options: CompileWorkerConfigOptions,
): WorkerConfig {
  const full = applyWorkerDefaults(raw, options.randomUUID);
  const storage = compileStorage(full);
  const eventHubs = compileEventHubs(full);
  const loadBalancing = compileLoadBalancing(full);
  const config: WorkerConfig = {
    eventHubs,
    storage,
    deadLetter: compileDeadLetter(full, storage),
    processing: compileProcessing(full),
    loadBalancing,
    sdkRetry: compileSdkRetry(full),
    shutdown: { drainTimeoutMs: int(full, "drainTimeoutMs", 0) },
    handlers: withArchiveDefaults(compileHandlers(full, options.baseDir), storage, eventHubs.endpointHost),
    logLevel: parseChoice("logLevel", must(full, "logLevel"), LOG_LEVELS),
    observability: compileObservabilityConfig(full),
    handover: compileHandoverConfig(full, loadBalancing.updateIntervalMs),
  };
  return deepFreeze(config);
}

/**
 * A loggable view of the config: connection strings are replaced by what they point at, so the
 * result holds no key, signature or token.
 */
export function describeConfig(config: WorkerConfig): Record<string, unknown> {
  const { eventHubs, storage, processing } = config;
  return {
    eventHubs: {
      auth: eventHubs.connectionString !== undefined ? "connectionString" : "defaultAzureCredential",
      endpointHost: eventHubs.endpointHost,
      eventHubName: eventHubs.eventHubName,
      consumerGroup: eventHubs.consumerGroup,
    },
    storage: {
      auth: storage.connectionString !== undefined ? "connectionString" : "defaultAzureCredential",
      ...storageTarget(storage),
      containerName: storage.containerName,
      createContainer: storage.createContainer,
    },
    deadLetter: { ...config.deadLetter },
    processing: {
      ...processing,
      startPosition: describeStartPosition(processing.startPosition),
      startPositions: Object.fromEntries(
        Object.entries(processing.startPositions).map(([id, spec]) => [id, describeStartPosition(spec)]),
      ),
    },
    loadBalancing: { ...config.loadBalancing },
    sdkRetry: { ...config.sdkRetry },
    shutdown: { ...config.shutdown },
    handlers: {
      handlers: config.handlers.handlers.map((h) => ({
        name: h.name,
        source: h.source.kind === "builtin" ? h.source.builtin : h.source.specifier,
      })),
      pipelines: config.handlers.pipelines,
      routes: config.handlers.routes,
    },
    logLevel: config.logLevel,
    observability: { ...config.observability },
    handover: { ...config.handover },
  };
}

/** Which account the storage settings point at; never the key or a SAS. */
function storageTarget(storage: StorageConfig): Record<string, string> {
  if (storage.accountUrl !== undefined) return { accountUrl: storage.accountUrl };
  const parts = parseConnectionStringParts(storage.connectionString ?? "");
  const out: Record<string, string> = {};
  const accountName = parts.get("accountname");
  const blobEndpoint = parts.get("blobendpoint");
  if (accountName) out.accountName = accountName;
  if (blobEndpoint) out.blobEndpoint = redactSecrets(blobEndpoint.split("?")[0] ?? "");
  if (parts.get("usedevelopmentstorage")?.toLowerCase() === "true") out.accountName = "devstoreaccount1";
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
