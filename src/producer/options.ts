/**
 * Options of the load generator (`ehw send`) in three steps: raw values as the command line and
 * environment gave them → defaults → the validated {@link SendOptions}. Every rejection names the
 * flag (or env var) and what is allowed; the connection string's key never appears in a message.
 */
import { ConfigError } from "../common/errors.js";
import { parseConnectionStringParts } from "../config/connection.js";

/** Values as given, before defaults and validation. Strings from the command line are fine. */
export interface RawSendOptions {
  /** Event Hubs connection string (a secret); may carry `EntityPath`. Required. */
  connectionString?: unknown;
  /** Event hub name; default: the connection string's `EntityPath`. */
  hub?: unknown;
  /** Number of events to send; default 1000. */
  count?: unknown;
  /** Events per second; default unlimited. */
  rate?: unknown;
  /** Body size in bytes; default 100. */
  bodySize?: unknown;
  /** Number of partition keys `key-0 … key-{K-1}` spread round robin; default none. */
  keys?: unknown;
  /** Partition id every event goes to; default none. Excludes `keys`. */
  partition?: unknown;
  /** Application property `id` of the first event; default 0. */
  idStart?: unknown;
  /** Application property `type` of every event; default {@link SEND_DEFAULTS}.type. */
  type?: unknown;
  /** Batches in flight at once; default 4. */
  concurrency?: unknown;
  /**
   * How each option was given, for messages, e.g. `{ connectionString: "EHW_EVENTHUB_CONNECTION_STRING" }`;
   * default: the option's flag.
   */
  labels?: Partial<Record<Exclude<keyof RawSendOptions, "labels">, string>>;
}

/** Where events go: any partition (the service spreads them), one partition, or keys. */
export type SendRouting =
  | { readonly kind: "any" }
  | { readonly kind: "partition"; readonly partitionId: string }
  | { readonly kind: "keys"; readonly keyCount: number };

/** Validated options of one `ehw send` run. */
export interface SendOptions {
  /** Event Hubs connection string (a secret: never log it). */
  readonly connectionString: string;
  /** Event hub name. */
  readonly hub: string;
  /** Host of the connection string's Endpoint, for messages. */
  readonly endpointHost: string;
  /** Number of events to send, ≥ 1. */
  readonly count: number;
  /** Events per second, > 0; undefined = unlimited. */
  readonly ratePerSecond: number | undefined;
  /** Body size of every event, bytes. */
  readonly bodySizeBytes: number;
  /** Partition routing. */
  readonly routing: SendRouting;
  /** `id` of the first event; ids increase by one per event. */
  readonly idStart: number;
  /** Application property `type` of every event. */
  readonly type: string;
  /** Batches in flight at once, ≥ 1. */
  readonly concurrency: number;
}

/** Default values. */
export const SEND_DEFAULTS = {
  count: 1000,
  bodySize: 100,
  idStart: 0,
  type: "ehw.load",
  concurrency: 4,
} as const;

/** Largest body accepted: the 1 MiB batch limit of a Standard namespace. */
export const MAX_BODY_SIZE_BYTES = 1024 * 1024;
/** Most partition keys accepted. */
export const MAX_KEYS = 100_000;
/** Most batches in flight accepted. */
export const MAX_CONCURRENCY = 256;

const FLAGS = {
  connectionString: "--connection-string",
  hub: "--hub",
  count: "--count",
  rate: "--rate",
  bodySize: "--body-size",
  keys: "--keys",
  partition: "--partition",
  idStart: "--id-start",
  type: "--type",
  concurrency: "--concurrency",
} as const;

type OptionName = keyof typeof FLAGS;

function label(raw: RawSendOptions, name: OptionName): string {
  return raw.labels?.[name] ?? FLAGS[name];
}

function fail(raw: RawSendOptions, name: OptionName, problem: string): never {
  const where = label(raw, name);
  throw new ConfigError(`${where} ${problem}`, { context: { setting: where } });
}

function shown(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** A whole number in [min, max] from a number or a decimal string. */
function integer(raw: RawSendOptions, name: OptionName, fallback: number, min: number, max: number): number {
  const value = raw[name];
  if (value === undefined) return fallback;
  const n = typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max) {
    fail(raw, name, `must be a whole number from ${min} to ${max} (got ${shown(value)})`);
  }
  return n;
}

function text(raw: RawSendOptions, name: OptionName): string | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.trim() === "") fail(raw, name, "must be a non-empty string");
  return value.trim();
}

function rate(raw: RawSendOptions): number | undefined {
  const value = raw.rate;
  if (value === undefined) return undefined;
  const n = typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n <= 0) {
    fail(raw, "rate", `must be a number of events per second above 0, e.g. 500 (got ${shown(value)})`);
  }
  return n;
}

function connection(raw: RawSendOptions): { connectionString: string; endpointHost: string; hub: string } {
  const where = label(raw, "connectionString");
  const value = raw.connectionString;
  if (value === undefined) {
    throw new ConfigError(
      `no connection string: set --connection-string or EHW_EVENTHUB_CONNECTION_STRING (Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…)`,
      { context: { setting: FLAGS.connectionString } },
    );
  }
  if (typeof value !== "string" || value.trim() === "") fail(raw, "connectionString", "is empty");
  const parts = parseConnectionStringParts(value);
  const endpoint = parts.get("endpoint");
  let endpointHost = "";
  try {
    const url = new URL(endpoint ?? "");
    if (url.protocol === "sb:") endpointHost = url.host;
  } catch {
    // reported below
  }
  if (endpointHost === "") {
    fail(raw, "connectionString", "has no Endpoint=sb://<host>/ (value hidden)");
  }
  if (
    !parts.has("sharedaccesssignature") &&
    (!parts.get("sharedaccesskeyname") || !parts.get("sharedaccesskey"))
  ) {
    fail(raw, "connectionString", "needs SharedAccessKeyName and SharedAccessKey, or SharedAccessSignature");
  }
  const entityPath = parts.get("entitypath") || undefined;
  const hub = text(raw, "hub");
  if (hub !== undefined && entityPath !== undefined && hub !== entityPath) {
    const hubLabel = label(raw, "hub");
    throw new ConfigError(
      `${hubLabel}=${shown(hub)} disagrees with EntityPath=${shown(entityPath)} in ${where}`,
      {
        context: { setting: hubLabel },
      },
    );
  }
  const resolved = hub ?? entityPath;
  if (resolved === undefined) {
    throw new ConfigError(
      "no event hub name: set --hub or EHW_EVENTHUB_NAME, or put EntityPath in the connection string",
      { context: { setting: FLAGS.hub } },
    );
  }
  return { connectionString: value, endpointHost, hub: resolved };
}

function routing(raw: RawSendOptions): SendRouting {
  const partition = text(raw, "partition");
  if (raw.keys !== undefined && partition !== undefined) {
    fail(
      raw,
      "partition",
      `and ${label(raw, "keys")} exclude each other: events go either to one partition or by key`,
    );
  }
  if (partition !== undefined) return { kind: "partition", partitionId: partition };
  if (raw.keys === undefined) return { kind: "any" };
  return { kind: "keys", keyCount: integer(raw, "keys", 1, 1, MAX_KEYS) };
}

/**
 * Applies defaults and validates. Throws ConfigError naming the flag (or the env var it came
 * from) and what is allowed.
 */
export function compileSendOptions(raw: RawSendOptions): SendOptions {
  const { connectionString, endpointHost, hub } = connection(raw);
  const count = integer(raw, "count", SEND_DEFAULTS.count, 1, Number.MAX_SAFE_INTEGER);
  const idStart = integer(raw, "idStart", SEND_DEFAULTS.idStart, 0, Number.MAX_SAFE_INTEGER);
  if (idStart > Number.MAX_SAFE_INTEGER - (count - 1)) {
    fail(raw, "idStart", `plus ${label(raw, "count")} must stay below ${Number.MAX_SAFE_INTEGER}`);
  }
  return {
    connectionString,
    hub,
    endpointHost,
    count,
    ratePerSecond: rate(raw),
    bodySizeBytes: integer(raw, "bodySize", SEND_DEFAULTS.bodySize, 0, MAX_BODY_SIZE_BYTES),
    routing: routing(raw),
    idStart,
    type: text(raw, "type") ?? SEND_DEFAULTS.type,
    concurrency: integer(raw, "concurrency", SEND_DEFAULTS.concurrency, 1, MAX_CONCURRENCY),
  };
}
