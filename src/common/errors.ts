/**
 * The one error family of eventhub-worker. Callers classify errors by class (`instanceof`) or by
 * `code`, never by message text. The original error, where there is one, is kept as `cause`.
 */

/** Context fields carried by every error: where it happened, never a secret. */
export interface ErrorContext {
  partitionId?: string;
  sequenceNumber?: number;
  attempt?: number;
  setting?: string;
  [key: string]: unknown;
}

/** Options accepted by every error in the family. */
export interface EhwErrorOptions {
  /** The error this one translates or wraps. */
  cause?: unknown;
  /** Whether trying the same operation again may succeed. Default false. */
  retriable?: boolean;
  /** Structured context for logs. */
  context?: ErrorContext;
}

/** Base class of every error eventhub-worker raises on purpose. */
export class EhwError extends Error {
  /** Stable machine-readable code; subclasses fix it. */
  readonly code: string;
  /** Whether trying the same operation again may succeed. */
  readonly retriable: boolean;
  /** Structured context for logs. */
  readonly context: ErrorContext;

  constructor(code: string, message: string, options: EhwErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }
}

/** A configuration value is missing or not allowed. Raised before anything connects. */
export class ConfigError extends EhwError {
  constructor(message: string, options: EhwErrorOptions = {}) {
    super("CONFIG_INVALID", message, options);
  }
}

/** A handler module could not be found, loaded, or does not export a handler. */
export class HandlerLoadError extends EhwError {
  constructor(message: string, options: EhwErrorOptions = {}) {
    super("HANDLER_LOAD_FAILED", message, options);
  }
}

/** A handler failed on an event after its last attempt. */
export class HandlerFailedError extends EhwError {
  constructor(message: string, options: EhwErrorOptions = {}) {
    super("HANDLER_FAILED", message, options);
  }
}

/** A checkpoint could not be written, or was refused by the guard. */
export class CheckpointError extends EhwError {
  constructor(message: string, options: EhwErrorOptions = {}) {
    super("CHECKPOINT_FAILED", message, options);
  }
}

/** A dependency (Event Hubs, Blob storage, the emulator, Azurite) is unreachable or refused us. */
export class ConnectionError extends EhwError {
  constructor(message: string, options: EhwErrorOptions = { retriable: true }) {
    super("CONNECTION_FAILED", message, options);
  }
}

/** A local process (Azurite, the emulator, a worker) failed to start or stop. */
export class ProcessError extends EhwError {
  constructor(message: string, options: EhwErrorOptions = {}) {
    super("PROCESS_FAILED", message, options);
  }
}

/** Turns any thrown value (an Error, a string, undefined, an object) into an Error. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === "string") return new Error(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return new Error(`non-Error value thrown: ${text}`);
}
