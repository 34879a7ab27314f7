import { ConfigError } from "../../common/errors.js";
import type { EventHandler, HandlerContext, InitContext, ReceivedEventData } from "../contract.js";

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
type LogLevel = (typeof LEVELS)[number];

/** Options of the `log` built-in (under `handlers.<name>.options`). */
export interface LogHandlerOptions {
  /** pino level of the per-event line: trace, debug, info, warn, error or fatal; default "info". */
  level?: LogLevel;
  /** Include the event body in the line (Buffers as UTF-8 text); default false, as bodies may hold personal data. */
  body?: boolean;
  /** Application property logged as `id`; default "id". */
  idProperty?: string;
}

function optionError(ctx: InitContext, key: string, allowed: string): never {
  const setting = `handlers.${ctx.name}.options.${key}`;
  throw new ConfigError(`${setting}: must be ${allowed}`, { context: { setting } });
}

function compileLogOptions(raw: Record<string, unknown>, ctx: InitContext): Required<LogHandlerOptions> {
  const level = raw.level ?? "info";
  if (typeof level !== "string" || !(LEVELS as readonly string[]).includes(level)) {
    optionError(ctx, "level", `one of ${LEVELS.join(", ")}`);
  }
  const body = raw.body ?? false;
  if (typeof body !== "boolean") optionError(ctx, "body", "true or false");
  const idProperty = raw.idProperty ?? "id";
  if (typeof idProperty !== "string" || idProperty === "")
    optionError(ctx, "idProperty", "a non-empty string");
  return { level: level as LogLevel, body, idProperty };
}

/** Size of a body in bytes as it travelled: raw bytes, UTF-8 text, or JSON for decoded values. */
export function bodySize(body: unknown): number {
  if (body === undefined || body === null) return 0;
  if (body instanceof Uint8Array) return body.byteLength;
  if (typeof body === "string") return Buffer.byteLength(body);
  try {
    return Buffer.byteLength(JSON.stringify(body) ?? "");
  } catch {
    // A value JSON cannot encode (a cycle, a BigInt) has no meaningful size; the line still counts.
    return -1;
  }
}

function bodyForLog(body: unknown): unknown {
  return body instanceof Uint8Array ? Buffer.from(body).toString("utf8") : body;
}

/**
 * The `log` built-in: one structured line per event with partition, sequence number, offset,
 * partition key, enqueued time, the id property and the body size — never the body unless
 * `options.body` is true. Works in event and batch pipelines.
 */
export function createLogHandler(rawOptions: Record<string, unknown>, initCtx: InitContext): EventHandler {
  const options = compileLogOptions(rawOptions, initCtx);
  const logger = initCtx.logger;
  const logOne = (event: ReceivedEventData, ctx: HandlerContext): void => {
    const fields: Record<string, unknown> = {
      pipeline: ctx.pipeline,
      partitionId: ctx.partitionId,
      sequenceNumber: event.sequenceNumber,
      offset: event.offset,
      partitionKey: event.partitionKey,
      enqueuedTime: event.enqueuedTimeUtc?.toISOString(),
      id: event.properties?.[options.idProperty],
      bodyBytes: bodySize(event.body),
      attempt: ctx.attempt,
    };
    if (options.body) fields.body = bodyForLog(event.body);
    logger[options.level](fields, "event");
  };
  return {
    name: "log",
    handle: logOne,
    handleBatch(events, ctx) {
      for (const event of events) logOne(event, ctx);
    },
  };
}
