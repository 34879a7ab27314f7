import type { ReceivedEventData } from "@azure/event-hubs";
import type { DeadLetterDocument } from "../../../src/deadletter/document.js";
import type { DeadLetterWriter } from "../../../src/deadletter/failure-handler.js";
import { deadLetterBlobName } from "../../../src/deadletter/naming.js";

/** A received event as the SDK hands it over (no raw AMQP message). */
export function receivedEvent(
  sequenceNumber: number,
  overrides: Partial<ReceivedEventData> = {},
): ReceivedEventData {
  return {
    body: { n: sequenceNumber },
    properties: { id: `e-${sequenceNumber}` },
    enqueuedTimeUtc: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, sequenceNumber % 1000)),
    partitionKey: null,
    offset: String(sequenceNumber * 100),
    sequenceNumber,
    systemProperties: {},
    getRawAmqpMessage: () => {
      throw new Error("no raw message in tests");
    },
    ...overrides,
  };
}

/**
 * A writer that records documents, and fails its first `failFirst` writes (or every write while
 * `failing` is true) with `error`.
 */
export class RecordingWriter implements DeadLetterWriter {
  readonly docs: DeadLetterDocument[] = [];
  attempts = 0;
  failFirst = 0;
  failing = false;
  error: Error = new Error("storage unavailable");

  async write(doc: DeadLetterDocument): Promise<string> {
    this.attempts += 1;
    if (this.failing || this.attempts <= this.failFirst) throw this.error;
    this.docs.push(doc);
    return deadLetterBlobName({
      eventHubName: doc.eventHubName,
      consumerGroup: doc.consumerGroup,
      partitionId: doc.partitionId,
      sequenceNumber: doc.sequenceNumber,
      deadLetteredAtMs: Date.parse(doc.deadLetteredAt),
    });
  }
}
