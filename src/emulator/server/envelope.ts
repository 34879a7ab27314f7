/**
 * Batch envelopes: every send from the SDK is one transfer of message format 0x80013700 whose body
 * is a sequence of data sections, each a complete encoded event. The events are stored as they
 * came; only the envelope's message annotations are decoded, for the partition key.
 */
import rhea from "rhea";
import { EmulatorProtocolError } from "../errors.js";
import { listSections, readBinary, SECTION } from "./sections.js";

/** The transfer message format of a batch envelope. */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

/** An incoming send, split into stored events. */
export interface SplitSend {
  /** Each event as a complete encoded AMQP message. */
  events: Buffer[];
  /** The envelope's `x-opt-partition-key`, when it has one. */
  partitionKey: string | undefined;
}

/** Splits a batch envelope (format 0x80013700) into its events. */
export function splitBatchEnvelope(envelope: Buffer): SplitSend {
  const events: Buffer[] = [];
  let partitionKey: string | undefined;
  for (const span of listSections(envelope)) {
    if (span.code === SECTION.data) {
      events.push(readBinary(envelope, span.valueStart));
    } else if (span.code === SECTION.messageAnnotations) {
      partitionKey = partitionKeyOf(envelope.subarray(span.start, span.end));
    }
  }
  if (events.length === 0) {
    throw new EmulatorProtocolError("amqp:decode-error", "batch envelope carries no data sections");
  }
  return { events, partitionKey };
}

/**
 * A plain (format 0) message sent as one event: it is stored as encoded. Returns its partition key.
 */
export function partitionKeyOfMessage(message: Buffer): string | undefined {
  for (const span of listSections(message)) {
    if (span.code === SECTION.messageAnnotations)
      return partitionKeyOf(message.subarray(span.start, span.end));
  }
  return undefined;
}

function partitionKeyOf(annotationsSection: Buffer): string | undefined {
  const decoded = rhea.message.decode(annotationsSection);
  const key = decoded.message_annotations?.["x-opt-partition-key"];
  if (key === undefined || key === null) return undefined;
  return String(key);
}
