import { randomUUID } from "node:crypto";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";
import { withArchiveDefaults } from "./archive.js";
import {
  checkAccountUrl,
  checkContainerName,
  checkEventHubsConnectionString,
  checkNamespace,
  checkStorageConnectionString,
  parseConnectionStringParts,
  resolveEventHubName,
} from "./connection.js";
import { defaultDeadLetterContainer } from "./dead-letter.js";
import { type CompiledHandlersConfig, compileHandlersConfig, type RawHandlersOptions } from "./handlers.js";
import { compileObservabilityConfig } from "./observability.js";
import { type RawSetting, type RawWorkerOptions, SETTINGS, type SettingKey } from "./settings.js";
import { compileStartPosition, compileStartPositions, describeStartPosition } from "./start-position.js";
import {
  parseBoolean,
  parseChoice,
  parseInteger,
  parseString,
  reject,
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
  type DeadLetterConfig,
  type EventHubsConfig,
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

/** A setting known to be present after defaults. */
function must(raw: RawWorkerOptions, key: SettingKey): RawSetting {
  const setting = raw[key];
  if (setting === undefined)
    throw new ConfigError(`${key} has no value and no default`, { context: { setting: key } });
  return setting;
}

/** Rejects a combination of two settings, naming both as the user wrote them. */
function rejectPair(
  a: [SettingKey, RawSetting],
  b: [SettingKey, RawSetting],
  problem: string,
  allowed: string,
): never {
  throw new ConfigError(`${settingWithValue(...a)} ${problem} ${settingWithValue(...b)} (${allowed})`, {
    context: { setting: sourceLabel(a[1].source) },
  });
}

/** Exactly one of two alternative settings; returns which one is present. */
function exactlyOne(raw: RawWorkerOptions, a: SettingKey, b: SettingKey, what: string): "a" | "b" {
  const sa = raw[a];
  const sb = raw[b];
  if (sa !== undefined && sb !== undefined) {
    rejectPair([a, sa], [b, sb], "conflicts with", `${what}: set exactly one of ${a} and ${b}`);
  }
  if (sa === undefined && sb === undefined) {
    const [ea, eb] = [SETTINGS[a].env, SETTINGS[b].env];
    throw new ConfigError(`no ${what}: set ${ea} (${a}) or ${eb} (${b})`, { context: { setting: a } });
  }
  return sa !== undefined ? "a" : "b";
}

function compileEventHubs(raw: RawWorkerOptions): EventHubsConfig {
  const which = exactlyOne(raw, "eventHubConnectionString", "eventHubNamespace", "Event Hubs connection");
  const nameSetting = raw.eventHubName && {
    ...raw.eventHubName,
    value: parseString("eventHubName", raw.eventHubName),
  };
  const consumerGroup = parseString("consumerGroup", must(raw, "consumerGroup"));
  if (which === "a") {
    const setting = must(raw, "eventHubConnectionString");
    const connectionString = parseString("eventHubConnectionString", setting);
    const info = checkEventHubsConnectionString({ ...setting, value: connectionString });
    const eventHubName = resolveEventHubName(nameSetting, info.entityPath, setting);
    return {
      connectionString,
      fullyQualifiedNamespace: undefined,
      endpointHost: info.endpointHost,
      eventHubName,
      consumerGroup,
    };
  }
  const setting = must(raw, "eventHubNamespace");
  const namespace = checkNamespace({ ...setting, value: parseString("eventHubNamespace", setting) });
  const eventHubName = resolveEventHubName(nameSetting, undefined, undefined);
  return {
    connectionString: undefined,
    fullyQualifiedNamespace: namespace,
    endpointHost: namespace,
    eventHubName,
    consumerGroup,
  };
}

function compileStorage(raw: RawWorkerOptions): StorageConfig {
  const which = exactlyOne(raw, "storageConnectionString", "storageAccountUrl", "checkpoint storage");
  let connectionString: string | undefined;
  let accountUrl: string | undefined;
  if (which === "a") {
    const setting = must(raw, "storageConnectionString");
    connectionString = parseString("storageConnectionString", setting);
    checkStorageConnectionString({ ...setting, value: connectionString });
  } else {
    const setting = must(raw, "storageAccountUrl");
    accountUrl = checkAccountUrl({ ...setting, value: parseString("storageAccountUrl", setting) });
  }
  const nameSetting = raw.containerName;
  if (nameSetting === undefined) {
    throw new ConfigError(
      "no checkpoint container: set EHW_CONTAINER_NAME, --container-name or containerName",
      {
        context: { setting: "containerName" },
      },
    );
  }
  const containerName = checkContainerName({
    ...nameSetting,
    value: parseString("containerName", nameSetting),
  });
  const createContainer = parseBoolean("createContainer", must(raw, "createContainer"));
  return { connectionString, accountUrl, containerName, createContainer };
}

/** The dead-letter container: the setting (Blob naming rules, not the checkpoint container) or the default. */
function compileDeadLetter(raw: RawWorkerOptions, storage: StorageConfig): DeadLetterConfig {
  const setting = raw.deadLetterContainer;
  if (setting === undefined) return { containerName: defaultDeadLetterContainer(storage.containerName) };
  const name = parseString("deadLetterContainer", setting);
  if (name.length < 3 || name.length > 63 || !/^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/.test(name)) {
    reject(
      "deadLetterContainer",
      setting,
      "must be 3 to 63 characters of lower-case letters, digits and single hyphens, starting and ending with a letter or digit",
    );
  }
  // Dead-letter documents beside ownership and checkpoint blobs would make both harder to read.
  if (name === storage.containerName)
    reject("deadLetterContainer", setting, "must differ from containerName");
  return { containerName: name };
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
  const config: WorkerConfig = {
    eventHubs,
    storage,
    deadLetter: compileDeadLetter(full, storage),
    processing: compileProcessing(full),
    loadBalancing: compileLoadBalancing(full),
    sdkRetry: compileSdkRetry(full),
    shutdown: { drainTimeoutMs: int(full, "drainTimeoutMs", 0) },
    handlers: withArchiveDefaults(compileHandlers(full, options.baseDir), storage, eventHubs.endpointHost),
    logLevel: parseChoice("logLevel", must(full, "logLevel"), LOG_LEVELS),
    observability: compileObservabilityConfig(full),
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
