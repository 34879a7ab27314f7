/**
 * The library entry of eventhub-worker: the Worker, the handler contract, and the config types.
 * Handler modules import `defineHandler` / `defineHandlerFactory` and the types from here.
 */

export { createWorker, workerSetup } from "./app/worker-app.js";
export { checkpointBlobPrefixes } from "./checkpoint/blob-store.js";
export {
  CheckpointError,
  ConfigError,
  ConnectionError,
  EhwError,
  HandlerFailedError,
  HandlerLoadError,
} from "./common/errors.js";
export type { CompiledHandlersConfig, RawHandlersOptions } from "./config/handlers.js";
export type {
  CompileWorkerConfigOptions,
  EventHubsConfig,
  LoadBalancingConfig,
  LoadBalancingStrategy,
  LogLevel,
  OrderingMode,
  ProcessingConfig,
  RawWorkerOptions,
  SdkRetryConfig,
  StartPositionSpec,
  StorageConfig,
  WorkerConfig,
} from "./config/worker.js";
export { compileWorkerConfig, describeConfig, WORKER_DEFAULTS } from "./config/worker.js";
export type {
  EventHandler,
  HandlerContext,
  HandlerExport,
  HandlerFactory,
  InitContext,
  ReceivedEventData,
} from "./handlers/contract.js";
export { defineHandler, defineHandlerFactory } from "./handlers/contract.js";
export type { ExhaustedEvent, FailureDecision, FailureHandler } from "./handlers/failure.js";
export { reportingFailureHandler } from "./handlers/failure.js";
export type { HandlerRegistry } from "./handlers/registry.js";
export { loadHandlerRegistry } from "./handlers/registry.js";
export type { Logger } from "./observability/logger.js";
export { createLogger, silentLogger } from "./observability/logger.js";
export type { StopOptions, StopResult, WorkerSetup, WorkerState, WorkerStatus } from "./worker/lifecycle.js";
export type { PartitionState, PartitionStatus } from "./worker/partition/processor.js";
export type { WorkerOptions } from "./worker/worker.js";
export { Worker } from "./worker/worker.js";
