/**
 * Link attach decisions and ingest: what a client link may attach to, and how a send becomes
 * stored events. Each function either succeeds or throws an {@link EmulatorProtocolError} whose
 * condition the transport puts on the detach or the rejected delivery.
 */
import rhea, { type Message, type Receiver, type Sender } from "rhea";
import { EmulatorProtocolError } from "../errors.js";
import type { ConnectionAuth } from "../services/cbs.js";
import type { Hub, HubRegistry } from "../services/hubs.js";
import { parseSelectorFilter, type StartPosition } from "../services/start-position.js";
import { type LinkAddress, parseLinkAddress, partitionIndex } from "./addresses.js";
import { BATCH_MESSAGE_FORMAT, partitionKeyOfMessage, splitBatchEnvelope } from "./envelope.js";

/** Largest accepted message (the Standard tier's 1 MiB), in bytes. */
export const MAX_MESSAGE_SIZE_BYTES = 1024 * 1024;
/** Link property carrying a reader's epoch (owner level). */
export const EPOCH_PROPERTY = "com.microsoft:epoch";
/** Capability a reader desires to get runtime-metric delivery annotations. */
export const RUNTIME_METRIC_CAPABILITY = "com.microsoft:enable-receiver-runtime-metric";
const SELECTOR_FILTER = "apache.org:selector-filter:string";

/** Where an accepted ingest link sends to. */
export interface IngestTarget {
  /** The hub. */
  hub: Hub;
  /** Fixed partition index, or undefined to spread/hash per send. */
  partitionIndex: number | undefined;
}

/** An accepted reader attach, before epoch arbitration. */
export interface ReaderRequest {
  hub: Hub;
  consumerGroup: string;
  partitionId: string;
  partitionIndex: number;
  epoch: number | undefined;
  startPosition: StartPosition;
  runtimeMetric: boolean;
}

function refuse(condition: string, description: string): EmulatorProtocolError {
  return new EmulatorProtocolError(condition, description);
}

/** The path of a link address (`amqps://host/hub/...` or `hub/...`), as tokens cover it. */
export function addressPath(address: unknown): string {
  return typeof address === "string" ? address.replace(/^[a-z]+:\/\/[^/]*/i, "").replace(/^\/+/, "") : "";
}

function requireToken(auth: ConnectionAuth, address: unknown): void {
  const path = addressPath(address);
  if (!auth.covers(path)) {
    throw refuse(
      "amqp:unauthorized-access",
      `Unauthorized access. No valid token for '${path}'; put one on $cbs first.`,
    );
  }
}

function requireHub(hubs: HubRegistry, name: string): Hub {
  const hub = hubs.get(name);
  if (!hub) throw refuse("amqp:not-found", `The messaging entity '${name}' could not be found.`);
  return hub;
}

function requirePartition(hub: Hub, id: string): number {
  const index = partitionIndex(id, hub.partitions.length);
  if (index === undefined) {
    throw refuse(
      "amqp:not-found",
      `The messaging entity '${hub.name}/Partitions/${id}' could not be found; partition ids are 0 to ${hub.partitions.length - 1}.`,
    );
  }
  return index;
}

/** Resolves the target of a client sender (our receiver link) to an ingest target. */
export function resolveIngest(address: unknown, hubs: HubRegistry, auth: ConnectionAuth): IngestTarget {
  const parsed: LinkAddress = parseLinkAddress(address);
  if (parsed.kind !== "hub" && parsed.kind !== "partition") {
    throw refuse(
      "amqp:not-found",
      `Cannot send to '${String(address)}'; use '<hub>' or '<hub>/Partitions/<n>'.`,
    );
  }
  requireToken(auth, address);
  const hub = requireHub(hubs, parsed.hub);
  return {
    hub,
    partitionIndex: parsed.kind === "partition" ? requirePartition(hub, parsed.partitionId) : undefined,
  };
}

/** Resolves the source of a client receiver (our sender link) to a reader request. */
export function resolveReader(sender: Sender, hubs: HubRegistry, auth: ConnectionAuth): ReaderRequest {
  const address = sender.source?.address;
  const parsed = parseLinkAddress(address);
  if (parsed.kind !== "consumer") {
    throw refuse(
      "amqp:not-found",
      `Cannot receive from '${String(address)}'; use '<hub>/ConsumerGroups/<cg>/Partitions/<n>'.`,
    );
  }
  requireToken(auth, address);
  const hub = requireHub(hubs, parsed.hub);
  if (!hub.hasConsumerGroup(parsed.consumerGroup)) {
    throw refuse(
      "amqp:not-found",
      `The messaging entity '${hub.name}/ConsumerGroups/${parsed.consumerGroup}' could not be found.`,
    );
  }
  const index = requirePartition(hub, parsed.partitionId);
  const capabilities = sender.desired_capabilities;
  const desired = Array.isArray(capabilities)
    ? capabilities
    : capabilities === undefined
      ? []
      : [capabilities];
  return {
    hub,
    consumerGroup: parsed.consumerGroup,
    partitionId: String(index),
    partitionIndex: index,
    epoch: readEpoch(sender.properties?.[EPOCH_PROPERTY]),
    startPosition: readStartPosition((sender.source as { filter?: unknown } | undefined)?.filter),
    runtimeMetric: desired.map(String).includes(RUNTIME_METRIC_CAPABILITY),
  };
}

/** The epoch link property as a number; rhea decodes longs as numbers, wrapped values as Typed. */
export function readEpoch(value: unknown): number | undefined {
  const raw = unwrapValue(value);
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "number" && Number.isFinite(raw)) return raw;
  if (typeof raw === "bigint") return Number(raw);
  if (Buffer.isBuffer(raw) && raw.length === 8) return Number(raw.readBigInt64BE(0));
  throw refuse("amqp:invalid-field", `${EPOCH_PROPERTY} must be a long`);
}

/** The start position from a source filter map; no filter means from the start. */
export function readStartPosition(filter: unknown): StartPosition {
  const map = unwrapValue(filter);
  if (map === undefined || map === null) return { kind: "earliest" };
  if (typeof map !== "object") throw refuse("amqp:invalid-field", "source filter must be a map");
  const entry = (map as Record<string, unknown>)[SELECTOR_FILTER];
  if (entry === undefined) return { kind: "earliest" };
  const expression = unwrapValue(entry);
  if (typeof expression !== "string")
    throw refuse("amqp:invalid-field", `${SELECTOR_FILTER} must hold a string`);
  return parseSelectorFilter(expression);
}

/** Strips rhea Typed/described wrappers down to a plain value. */
function unwrapValue(value: unknown): unknown {
  let current = value;
  for (let depth = 0; depth < 8; depth++) {
    if (current === null || typeof current !== "object" || !("value" in current)) return current;
    const typed = current as { value: unknown; type?: unknown; descriptor?: unknown };
    if (typed.descriptor === undefined && typed.type === undefined) return current;
    if (typed.descriptor === undefined && rhea.types.is_map(current as never))
      return rhea.types.unwrap(current as never, true);
    current = typed.value;
  }
  return current;
}

/** The stored form of one incoming transfer. */
export interface IncomingSend {
  events: Buffer[];
  partitionKey: string | undefined;
}

/**
 * Turns one incoming delivery into events. Batch envelopes are split; a plain message (format 0,
 * which rhea has already decoded) is re-encoded once.
 * @throws EmulatorProtocolError `amqp:link:message-size-exceeded` over {@link MAX_MESSAGE_SIZE_BYTES}.
 */
export function decodeIncoming(message: Message | Buffer, format: number | undefined): IncomingSend {
  const raw = Buffer.isBuffer(message) ? message : rhea.message.encode(message);
  if (raw.length > MAX_MESSAGE_SIZE_BYTES) {
    throw refuse(
      "amqp:link:message-size-exceeded",
      `The received message (size ${raw.length} bytes) exceeds the limit (${MAX_MESSAGE_SIZE_BYTES} bytes) currently allowed on the link.`,
    );
  }
  if (format === BATCH_MESSAGE_FORMAT) return splitBatchEnvelope(raw);
  if (format !== undefined && format !== 0) {
    throw refuse("amqp:not-implemented", `message format 0x${format.toString(16)} is not supported`);
  }
  return { events: [raw], partitionKey: partitionKeyOfMessage(raw) };
}

/** Sets the fields of our attach reply: echo the terminus, and for ingest the size limit. */
export function prepareAttach(link: Sender | Receiver, maxMessageSize?: number): void {
  const local = (link as unknown as { local: { attach: Record<string, unknown> } }).local.attach;
  const source = link.source as { address?: unknown } | undefined;
  const target = link.target as { address?: unknown } | undefined;
  if (source && typeof source.address === "string") link.set_source({ address: source.address });
  if (target && typeof target.address === "string") link.set_target({ address: target.address });
  // Must be a plain number: a wrapped AMQP value here breaks the connection (see DESIGN.md).
  if (maxMessageSize !== undefined) local.max_message_size = maxMessageSize;
}
