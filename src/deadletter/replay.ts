/**
 * Replaying dead-lettered events: each document is sent again (original body, application
 * properties, message id, correlation id, content type; with its partition key, or else to its
 * original partition when the target is the same hub) and its blob is deleted only after the send
 * succeeded. A failed send leaves the blob and is reported; the replay goes on with the next one.
 */
import type { AmqpAnnotatedMessage } from "@azure/core-amqp";
import type { EventData } from "@azure/event-hubs";
import { toError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";
import { type DeadLetterDocument, decodeBody, decodeId, decodeRecord } from "./document.js";
import type { DeadLetterEntry, DeadLetterListFilter, DeadLetterStore } from "./store.js";

/** Where a replayed event goes in the target hub. */
export interface ReplayTarget {
  /** Send with this partition key (the service picks the partition). */
  readonly partitionKey?: string;
  /** Send to this partition. */
  readonly partitionId?: string;
}

/** Sends one event; {@link producerSender} adapts an EventHubProducerClient. */
export interface ReplaySender {
  send(event: EventData | AmqpAnnotatedMessage, target: ReplayTarget): Promise<void>;
}

/** What happened to one document. */
export interface ReplayResult {
  /** Blob name. */
  readonly name: string;
  readonly partitionId: string;
  readonly sequenceNumber: number;
  /** `replayed`: sent and deleted; `would-replay`: dry run; `failed`: see `error`. */
  readonly status: "replayed" | "would-replay" | "failed";
  /** Where it was (or would be) sent. */
  readonly target?: ReplayTarget;
  /** Why it failed; the blob is still there unless `sent` is true. */
  readonly error?: string;
  /** True when the send succeeded but the delete failed (a later replay sends it again). */
  readonly sent?: boolean;
}

/** Options of {@link replayDeadLetters}. */
export interface ReplayOptions {
  /** The dead-letter store to read from and delete in. */
  readonly store: Pick<DeadLetterStore, "list" | "read" | "delete">;
  /** Sends to the target hub. */
  readonly sender: ReplaySender;
  /** Which documents; default all. */
  readonly filter?: DeadLetterListFilter;
  /** True when the target is the hub the events came from (events without a key keep their partition). */
  readonly sameHub: boolean;
  /** List and describe only; send and delete nothing. Default false. */
  readonly dryRun?: boolean;
  /** Called after each document (progress output). */
  readonly onResult?: (result: ReplayResult) => void;
  /** Stops between documents when fired. */
  readonly signal?: AbortSignal;
}

/** The sendable form of a document: an EventData, or the raw AMQP message for value/sequence bodies. */
export function replayEventOf(doc: DeadLetterDocument): EventData | AmqpAnnotatedMessage {
  const body = decodeBody(doc);
  const properties = decodeRecord(doc.properties);
  const messageId = decodeId(doc.messageId);
  const correlationId = decodeId(doc.correlationId);
  const ids = {
    ...(messageId !== undefined ? { messageId } : {}),
    ...(correlationId !== undefined ? { correlationId } : {}),
    ...(doc.contentType !== undefined ? { contentType: doc.contentType } : {}),
  };
  if (doc.bodyType === "value" || doc.bodyType === "sequence") {
    return {
      body,
      bodyType: doc.bodyType,
      applicationProperties: properties as AmqpAnnotatedMessage["applicationProperties"],
      properties: ids,
    };
  }
  return { body, properties, ...ids };
}

/** Where a document goes: its partition key, else its partition on the same hub, else anywhere. */
export function replayTargetOf(doc: DeadLetterDocument, sameHub: boolean): ReplayTarget {
  if (doc.partitionKey !== undefined && doc.partitionKey !== "") return { partitionKey: doc.partitionKey };
  return sameHub ? { partitionId: doc.partitionId } : {};
}

/** Replays every matching document in name order; see the module comment. */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult[]> {
  const entries = await options.store.list(options.filter);
  const results: ReplayResult[] = [];
  for (const entry of entries) {
    if (options.signal?.aborted) break;
    const result = await replayOne(entry, options);
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

async function replayOne(entry: DeadLetterEntry, options: ReplayOptions): Promise<ReplayResult> {
  const base = { name: entry.name, partitionId: entry.partitionId, sequenceNumber: entry.sequenceNumber };
  let doc: DeadLetterDocument;
  try {
    doc = await options.store.read(entry.name);
  } catch (err) {
    return { ...base, status: "failed", error: messageOf(err) };
  }
  const target = replayTargetOf(doc, options.sameHub);
  if (options.dryRun === true) return { ...base, status: "would-replay", target };
  try {
    await options.sender.send(replayEventOf(doc), target);
  } catch (err) {
    return { ...base, status: "failed", target, error: `send failed: ${messageOf(err)}` };
  }
  try {
    await options.store.delete(entry.name);
  } catch (err) {
    return {
      ...base,
      status: "failed",
      target,
      sent: true,
      error: `sent, but delete failed: ${messageOf(err)}`,
    };
  }
  return { ...base, status: "replayed", target };
}

function messageOf(err: unknown): string {
  return redactSecrets(toError(err).message.split("\n")[0] ?? "");
}

/** A sender over an EventHubProducerClient-like object: one single-event batch per send. */
export function producerSender(producer: {
  sendBatch(
    batch: Array<EventData | AmqpAnnotatedMessage>,
    options?: { partitionKey?: string; partitionId?: string },
  ): Promise<void>;
}): ReplaySender {
  return {
    send: (event, target) => producer.sendBatch([event], { ...target }),
  };
}
