import { ConfigError, EhwError, HandlerLoadError } from "../common/errors.js";
import type { CompiledHandlerSpec, CompiledHandlersConfig } from "../config/handlers.js";
import type { Logger } from "../observability/logger.js";
import type { EventHandler, InitContext, ReceivedEventData } from "./contract.js";
import { instantiateHandler } from "./loader.js";
import { createPipeline, type Pipeline } from "./pipeline.js";

/** Options of {@link loadHandlerRegistry}. */
export interface LoadHandlerRegistryOptions {
  /** Parent logger; handlers get `child({ component: "handler", handler })`. */
  logger: Logger;
  /** This worker's id, passed to handlers in their InitContext. */
  workerId: string;
  /** Directory package-name modules are resolved from; default: the working directory. Use the config file's directory. */
  baseDir?: string;
}

/** The loaded handlers and pipelines of one worker, and the routing between them. */
export interface HandlerRegistry {
  /** Every pipeline by name. */
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  /** The pipeline for events the routes do not pick a pipeline for. */
  readonly defaultPipeline: Pipeline;
  /** The pipeline for an event, by the routing property; a missing or unmapped value → the default pipeline. */
  route(event: ReceivedEventData): Pipeline;
  /**
   * Calls every loaded handler's `close` once (in reverse load order, each even if others fail), then
   * throws one error (code HANDLER_CLOSE_FAILED, cause an AggregateError) when any failed. Idempotent.
   */
  close(): Promise<void>;
}

/** A handler instance after loading and `init`. */
interface LoadedHandler {
  name: string;
  handler: EventHandler;
}

/**
 * Pure routing decision: the pipeline name for an event's application properties. Strings are looked
 * up as they are, numbers and booleans by their text; anything else goes to the default.
 */
export function routeEvent(
  routes: CompiledHandlersConfig["routes"],
  properties: Record<string, unknown> | undefined,
): string {
  if (routes.property === undefined || properties === undefined) return routes.defaultPipeline;
  const value = properties[routes.property];
  const key = typeof value === "number" || typeof value === "boolean" ? String(value) : value;
  if (typeof key === "string" && Object.hasOwn(routes.map, key))
    return routes.map[key] ?? routes.defaultPipeline;
  return routes.defaultPipeline;
}

async function closeAll(loaded: readonly LoadedHandler[], logger: Logger): Promise<void> {
  const failures: Array<{ name: string; error: unknown }> = [];
  for (const { name, handler } of [...loaded].reverse()) {
    try {
      await handler.close?.();
    } catch (error) {
      logger.error({ handler: name, err: error }, "handler close failed");
      failures.push({ name, error });
    }
  }
  if (failures.length === 0) return;
  const summary = failures
    .map(({ name, error }) => `${name}: ${error instanceof Error ? error.message : String(error)}`)
    .join("; ");
  throw new EhwError("HANDLER_CLOSE_FAILED", `${failures.length} handler(s) failed to close: ${summary}`, {
    cause: new AggregateError(
      failures.map((f) => f.error),
      summary,
    ),
    context: { handlers: failures.map((f) => f.name) },
  });
}

async function loadOne(
  spec: CompiledHandlerSpec,
  options: LoadHandlerRegistryOptions,
  logger: Logger,
): Promise<LoadedHandler> {
  const initCtx: InitContext = {
    name: spec.name,
    logger: logger.child({ handler: spec.name }),
    options: spec.options,
    workerId: options.workerId,
  };
  const handler = await instantiateHandler(spec, initCtx, options.baseDir);
  try {
    await handler.init?.(initCtx);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new HandlerLoadError(`handler "${spec.name}": init failed: ${reason}`, {
      cause: err,
      context: { handler: spec.name, setting: `handlers.${spec.name}` },
    });
  }
  return { name: spec.name, handler };
}

function buildPipelines(
  config: CompiledHandlersConfig,
  loaded: readonly LoadedHandler[],
): Map<string, Pipeline> {
  const byName = new Map(loaded.map((h) => [h.name, h.handler]));
  const pipelines = new Map<string, Pipeline>();
  for (const p of config.pipelines) {
    const steps = p.handlers.map((name) => {
      const handler = byName.get(name);
      if (handler === undefined) {
        throw new HandlerLoadError(`pipeline "${p.name}" names handler "${name}", which was not loaded`);
      }
      return { name, handler };
    });
    pipelines.set(p.name, createPipeline(p.name, steps));
  }
  return pipelines;
}

/**
 * Loads the handlers the pipelines use (one instance per handler name, shared by pipelines; unused
 * ones are skipped), calls each `init` once, and builds the pipelines and routing. When anything
 * fails half way, the handlers already initialised are closed before the error is thrown.
 */
export async function loadHandlerRegistry(
  config: CompiledHandlersConfig,
  options: LoadHandlerRegistryOptions,
): Promise<HandlerRegistry> {
  const logger = options.logger.child({ component: "handler" });
  const used = new Set(config.pipelines.flatMap((p) => p.handlers));
  const loaded: LoadedHandler[] = [];
  let pipelines: Map<string, Pipeline>;
  try {
    for (const spec of config.handlers) {
      if (!used.has(spec.name)) {
        logger.info({ handler: spec.name }, "handler is used by no pipeline; not loaded");
        continue;
      }
      loaded.push(await loadOne(spec, options, logger));
    }
    pipelines = buildPipelines(config, loaded);
  } catch (err) {
    await closeAll(loaded, logger).catch(() => undefined);
    throw err;
  }
  const defaultPipeline = pipelines.get(config.routes.defaultPipeline);
  if (defaultPipeline === undefined) {
    await closeAll(loaded, logger).catch(() => undefined);
    throw new HandlerLoadError(`default pipeline "${config.routes.defaultPipeline}" does not exist`);
  }
  for (const p of pipelines.values()) {
    logger.info({ pipeline: p.name, kind: p.kind, handlers: p.handlerNames }, "pipeline ready");
  }
  let closing: Promise<void> | undefined;
  return {
    pipelines,
    defaultPipeline,
    route: (event) => pipelines.get(routeEvent(config.routes, event.properties)) ?? defaultPipeline,
    close: () => {
      closing ??= closeAll(loaded, logger);
      return closing;
    },
  };
}
