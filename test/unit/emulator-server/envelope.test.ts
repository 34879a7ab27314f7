import rhea from "rhea";
import { describe, expect, it } from "vitest";
import { EmulatorProtocolError } from "../../../src/emulator/errors.js";
import { spliceAnnotations } from "../../../src/emulator/server/annotations.js";
import { partitionKeyOfMessage, splitBatchEnvelope } from "../../../src/emulator/server/envelope.js";
import { listSections, SECTION, skipValue } from "../../../src/emulator/server/sections.js";

const { message } = rhea;

/** Builds an envelope the way the SDK does: data sections of encoded events. */
function envelope(events: Buffer[], annotations?: Record<string, unknown>): Buffer {
  return message.encode({
    body: message.data_sections(events),
    ...(annotations === undefined ? {} : { message_annotations: annotations }),
  });
}

describe("splitBatchEnvelope", () => {
  it("returns each data section as the complete encoded event, byte for byte", () => {
    const events = [
      message.encode({ body: "a", application_properties: { n: 1 } }),
      message.encode({ body: Buffer.alloc(300, 7), message_id: "m2" }),
      message.encode({ body: { nested: [1, 2] } }),
    ];
    const split = splitBatchEnvelope(envelope(events));
    expect(split.events.map((e) => e.toString("hex"))).toEqual(events.map((e) => e.toString("hex")));
    expect(split.partitionKey).toBeUndefined();
    expect(message.decode(split.events[1] as Buffer).message_id).toBe("m2");
  });

  it("handles a one-event batch (a single data section)", () => {
    const event = message.encode({ body: "only" });
    expect(splitBatchEnvelope(envelope([event])).events).toEqual([event]);
  });

  it("reads the partition key from the envelope's annotations", () => {
    const event = message.encode({ body: "k", message_annotations: { "x-opt-partition-key": "key-1" } });
    const split = splitBatchEnvelope(envelope([event], { "x-opt-partition-key": "key-1" }));
    expect(split.partitionKey).toBe("key-1");
  });

  it("rejects an envelope without data sections and a truncated one, as decode errors", () => {
    expect(() => splitBatchEnvelope(message.encode({ body: "no data" }))).toThrow(EmulatorProtocolError);
    const good = envelope([message.encode({ body: "x".repeat(100) })]);
    try {
      splitBatchEnvelope(good.subarray(0, good.length - 10));
      expect.unreachable("a truncated envelope must not split");
    } catch (err) {
      expect(err).toBeInstanceOf(EmulatorProtocolError);
      expect((err as EmulatorProtocolError).condition).toBe("amqp:decode-error");
    }
  });

  it("finds a plain message's partition key", () => {
    expect(
      partitionKeyOfMessage(message.encode({ body: 1, message_annotations: { "x-opt-partition-key": "p" } })),
    ).toBe("p");
    expect(partitionKeyOfMessage(message.encode({ body: 1 }))).toBeUndefined();
  });
});

describe("sections", () => {
  it("lists the sections of an encoded message in order", () => {
    const encoded = message.encode({
      durable: true,
      message_annotations: { a: 1 },
      message_id: "x",
      application_properties: { p: "q" },
      body: "b",
    });
    expect(listSections(encoded).map((s) => s.code)).toEqual([
      SECTION.header,
      SECTION.messageAnnotations,
      SECTION.properties,
      SECTION.applicationProperties,
      SECTION.amqpValue,
    ]);
  });

  it("skips fixed, variable and compound values by their width class", () => {
    expect(skipValue(Buffer.from([0x40]), 0)).toBe(1);
    expect(skipValue(Buffer.from([0x81, 0, 0, 0, 0, 0, 0, 0, 1]), 0)).toBe(9);
    expect(skipValue(Buffer.from([0xa1, 2, 0x68, 0x69]), 0)).toBe(4);
    expect(skipValue(Buffer.from([0xb0, 0, 0, 0, 1, 9]), 0)).toBe(6);
    expect(() => skipValue(Buffer.from([0xa1, 5, 0x68]), 0)).toThrow(EmulatorProtocolError);
  });
});

describe("spliceAnnotations", () => {
  const annotations = {
    sequenceNumber: 42,
    offset: "1234",
    enqueuedTimeMs: 1_700_000_000_123,
    partitionKey: undefined,
  };

  it("adds the service annotations and keeps every other section as sent", () => {
    const stored = message.encode({
      durable: true,
      message_id: "id-1",
      application_properties: { kind: "order" },
      body: "payload",
    });
    const out = message.decode(spliceAnnotations(stored, annotations));
    expect(out.message_annotations).toEqual({
      "x-opt-sequence-number": 42,
      "x-opt-offset": "1234",
      "x-opt-enqueued-time": new Date(1_700_000_000_123),
    });
    expect(out.message_id).toBe("id-1");
    expect(out.durable).toBe(true);
    expect(out.application_properties).toEqual({ kind: "order" });
    expect(out.body).toBe("payload");
    expect(out.delivery_annotations).toBeUndefined();
  });

  it("merges the event's own annotations and does not repeat its partition key", () => {
    const stored = message.encode({
      message_annotations: { "x-opt-partition-key": "mine", custom: 5 },
      body: "x",
    });
    const encoded = spliceAnnotations(stored, { ...annotations, partitionKey: "mine" });
    const out = message.decode(encoded);
    expect(out.message_annotations).toMatchObject({
      "x-opt-partition-key": "mine",
      custom: 5,
      "x-opt-sequence-number": 42,
    });
    expect(encoded.toString("latin1").split("x-opt-partition-key").length - 1).toBe(1);
  });

  it("adds the partition key when the event itself has none", () => {
    const out = message.decode(
      spliceAnnotations(message.encode({ body: 1 }), { ...annotations, partitionKey: "env" }),
    );
    expect(out.message_annotations?.["x-opt-partition-key"]).toBe("env");
  });

  it("adds runtime-metric delivery annotations with the right types", () => {
    const metric = {
      lastSequenceNumber: 99,
      lastOffset: "5000",
      lastEnqueuedTimeMs: 1_700_000_001_000,
      retrievalTimeMs: 1_700_000_002_000,
    };
    const out = message.decode(spliceAnnotations(message.encode({ body: 1 }), annotations, metric));
    expect(out.delivery_annotations).toEqual({
      last_enqueued_sequence_number: 99,
      last_enqueued_offset: "5000",
      last_enqueued_time_utc: new Date(1_700_000_001_000),
      runtime_info_retrieval_time_utc: new Date(1_700_000_002_000),
    });
    expect(out.body).toBe(1);
  });

  it("encodes long strings with the 32-bit form", () => {
    const out = message.decode(
      spliceAnnotations(message.encode({ body: 1 }), { ...annotations, partitionKey: "k".repeat(300) }),
    );
    expect(out.message_annotations?.["x-opt-partition-key"]).toBe("k".repeat(300));
  });
});
