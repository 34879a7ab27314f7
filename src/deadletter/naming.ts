/**
 * Blob names of dead-letter documents (the default container name comes from src/config). Pure: names are
 * built and parsed here so the writer, `ehw deadletter list` and `replay` agree on one layout.
 *
 * Layout: `<hub>/<consumer group>/<partition>/<sequence number, 20 digits>-<UTC time>.json`, hub
 * and consumer group lower-cased (Event Hubs names are case-insensitive), the time as
 * `YYYYMMDDTHHMMSSmmmZ`. Names sort by partition, then sequence number, then time; the time makes a
 * second dead-lettering of the same event (redelivered after a crash) a separate document.
 */
export { DEAD_LETTER_CONTAINER_SUFFIX, defaultDeadLetterContainer } from "../config/dead-letter.js";

/** Digits of the zero-padded sequence number: enough for any 64-bit sequence number. */
const SEQUENCE_DIGITS = 20;

/** What a dead-letter blob name says about its event. */
export interface DeadLetterBlobRef {
  /** Hub name, lower-cased. */
  readonly eventHubName: string;
  /** Consumer group, lower-cased. */
  readonly consumerGroup: string;
  /** Partition id. */
  readonly partitionId: string;
  /** Sequence number of the event. */
  readonly sequenceNumber: number;
  /** When the event was dead-lettered, epoch milliseconds. */
  readonly deadLetteredAtMs: number;
}

/** `<hub>/<cg>/`: the prefix of one consumer group's documents. */
export function deadLetterPrefix(eventHubName: string, consumerGroup: string, partitionId?: string): string {
  const root = `${eventHubName.toLowerCase()}/${consumerGroup.toLowerCase()}/`;
  return partitionId === undefined ? root : `${root}${partitionId}/`;
}

/** The blob name of one event's document; see the module comment. */
export function deadLetterBlobName(ref: DeadLetterBlobRef): string {
  if (!Number.isSafeInteger(ref.sequenceNumber) || ref.sequenceNumber < 0) {
    throw new RangeError(`sequence number must be a non-negative integer, got ${ref.sequenceNumber}`);
  }
  const seq = String(ref.sequenceNumber).padStart(SEQUENCE_DIGITS, "0");
  return `${deadLetterPrefix(ref.eventHubName, ref.consumerGroup, ref.partitionId)}${seq}-${compactTime(ref.deadLetteredAtMs)}.json`;
}

/** Parses a name built by {@link deadLetterBlobName}; undefined for any other blob. */
export function parseDeadLetterBlobName(name: string): DeadLetterBlobRef | undefined {
  const match = /^([^/]+)\/([^/]+)\/([^/]+)\/(\d{20})-(\d{8}T\d{9}Z)\.json$/.exec(name);
  if (match === null) return undefined;
  const [, hub, cg, partitionId, seq, time] = match;
  const sequenceNumber = Number(seq);
  const deadLetteredAtMs = parseCompactTime(time ?? "");
  if (!Number.isSafeInteger(sequenceNumber) || deadLetteredAtMs === undefined) return undefined;
  return {
    eventHubName: hub ?? "",
    consumerGroup: cg ?? "",
    partitionId: partitionId ?? "",
    sequenceNumber,
    deadLetteredAtMs,
  };
}

function compactTime(ms: number): string {
  // 2026-11-21T23:30:00.123Z → 20261121T233000123Z
  return new Date(ms).toISOString().replace(/[-:.]/g, "");
}

function parseCompactTime(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(text);
  if (m === null) return undefined;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}
