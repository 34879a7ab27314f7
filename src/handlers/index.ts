export type {
  BuiltinHandlerName,
  CompiledHandlerSpec,
  CompiledHandlersConfig,
  RawHandlerOptions,
  RawHandlersOptions,
} from "../config/handlers.js";
export { BUILTIN_HANDLERS, compileHandlersConfig, DEFAULT_PIPELINE_NAME } from "../config/handlers.js";
export type { LedgerEntry, LedgerHandlerOptions } from "./builtins/ledger.js";
export { parseLedger, readLedgerFile } from "./builtins/ledger.js";
export type { LogHandlerOptions } from "./builtins/log.js";
export type {
  EventHandler,
  HandlerContext,
  HandlerExport,
  HandlerFactory,
  InitContext,
  ReceivedEventData,
} from "./contract.js";
export { defineHandler, defineHandlerFactory, isEventHandler } from "./contract.js";
export { instantiateHandler } from "./loader.js";
export type { Pipeline, PipelineKind, PipelineRunContext, PipelineStep } from "./pipeline.js";
export { createPipeline, pipelineKind } from "./pipeline.js";
export type { HandlerRegistry, LoadHandlerRegistryOptions } from "./registry.js";
export { loadHandlerRegistry, routeEvent } from "./registry.js";
