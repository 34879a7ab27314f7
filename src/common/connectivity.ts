/**
 * Classification of connectivity and credential failures, shared by the edges that translate SDK
 * errors into our family (checkpoint storage, the worker's probe, the inspect tools). Errors are
 * classified by `code` and `name` along the cause chain, never by message text.
 */

/** Node network error codes that mean "the endpoint cannot be reached", whichever SDK met them. */
export const NETWORK_UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** Codes of the storage SDK that mean "unreachable": `REQUEST_SEND_ERROR` is its RestError for a failed send. */
export const STORAGE_UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  ...NETWORK_UNREACHABLE_CODES,
  "REQUEST_SEND_ERROR",
]);

/** Codes of the Event Hubs SDK (core-amqp) that mean "unreachable". */
export const EVENT_HUBS_UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  ...NETWORK_UNREACHABLE_CODES,
  "ServiceCommunicationError",
  "ConnectionForcedError",
  "ServiceUnavailableError",
]);

/** Error names of @azure/identity when no credential could produce a token. */
export const CREDENTIAL_ERROR_NAMES: ReadonlySet<string> = new Set([
  "CredentialUnavailableError",
  "AuthenticationError",
  "AggregateAuthenticationError",
]);

/**
 * The error, its causes and the members of aggregate errors, depth first, each object once
 * (network errors nest inside RestError, and core-amqp retries inside AggregateError).
 */
export function errorChain(err: unknown, seen = new Set<unknown>()): object[] {
  if (typeof err !== "object" || err === null || seen.has(err)) return [];
  seen.add(err);
  const out: object[] = [err, ...errorChain((err as { cause?: unknown }).cause, seen)];
  const nested = (err as { errors?: unknown }).errors;
  if (Array.isArray(nested)) for (const e of nested) out.push(...errorChain(e, seen));
  return out;
}

/** String `code` values along the {@link errorChain}, in chain order. */
export function errorCodes(err: unknown): Set<string> {
  return stringField(err, "code");
}

/** String `name` values along the {@link errorChain}, in chain order. */
export function errorNames(err: unknown): Set<string> {
  return stringField(err, "name");
}

/** Whether any code along the chain is one of `codes` (e.g. {@link STORAGE_UNREACHABLE_CODES}). */
export function isUnreachable(err: unknown, codes: ReadonlySet<string>): boolean {
  return [...errorCodes(err)].some((c) => codes.has(c));
}

/** Whether any error along the chain is an @azure/identity failure to get a token. */
export function isCredentialFailure(err: unknown): boolean {
  return [...errorNames(err)].some((n) => CREDENTIAL_ERROR_NAMES.has(n));
}

function stringField(err: unknown, field: "code" | "name"): Set<string> {
  const out = new Set<string>();
  for (const e of errorChain(err)) {
    const value = (e as Record<string, unknown>)[field];
    if (typeof value === "string") out.add(value);
  }
  return out;
}
