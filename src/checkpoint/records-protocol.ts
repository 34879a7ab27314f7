/**
 * The messages between {@link ThreadPartitionRecords} and its thread, and the transport of storage
 * errors across the thread boundary. Structured cloning keeps an Error's message but drops its own
 * fields (`statusCode`, `code`, `details`) and its cause, which are exactly what the callers
 * classify by (ETag conflicts, unreachable endpoints, refused credentials); so errors travel as
 * plain data and are rebuilt on the other side with those fields.
 */
import type { PartitionRecords } from "./blob-records.js";

/** The operations of {@link PartitionRecords}, by name. */
export type RecordsOperation = keyof PartitionRecords;

/** A call to the thread. */
export interface RecordsRequest {
  readonly id: number;
  readonly op: RecordsOperation;
  readonly args: readonly unknown[];
}

/** The thread's answer to one call (a value, or an error as data), or its word that it is ready. */
export type RecordsResponse =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError }
  | { readonly id: 0; readonly ready: true };

/** What the callers read of a storage error, one entry per error along its cause chain. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly statusCode?: number;
  readonly code?: string;
  /** The storage service's error code (`details.errorCode` of a RestError). */
  readonly errorCode?: string;
  readonly cause?: SerializedError;
}

/** Causes followed at most; a chain is a handful deep in practice. */
const MAX_DEPTH = 8;

/** The error as data: name, message, status, codes, and its causes (messages never hold secrets). */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (typeof err !== "object" || err === null) return { name: "Error", message: String(err) };
  const e = err as Record<string, unknown>;
  const details = e.details as Record<string, unknown> | undefined;
  const out: {
    name: string;
    message: string;
    statusCode?: number;
    code?: string;
    errorCode?: string;
    cause?: SerializedError;
  } = {
    name: typeof e.name === "string" ? e.name : "Error",
    message: typeof e.message === "string" ? e.message : String(err),
  };
  if (typeof e.statusCode === "number") out.statusCode = e.statusCode;
  if (typeof e.code === "string") out.code = e.code;
  if (typeof details?.errorCode === "string") out.errorCode = details.errorCode;
  if (e.cause !== undefined && depth < MAX_DEPTH) out.cause = serializeError(e.cause, depth + 1);
  return out;
}

/**
 * An Error with the fields the callers classify by: `name`, `statusCode`, `code`,
 * `details.errorCode` and `cause`, as the storage SDK's RestError has them.
 */
export function deserializeError(data: SerializedError): Error {
  const err = new Error(
    data.message,
    data.cause === undefined ? undefined : { cause: deserializeError(data.cause) },
  ) as Error & Record<string, unknown>;
  err.name = data.name;
  if (data.statusCode !== undefined) err.statusCode = data.statusCode;
  if (data.code !== undefined) err.code = data.code;
  if (data.errorCode !== undefined) err.details = { errorCode: data.errorCode };
  return err;
}
