import { describe, expect, it } from "vitest";
import { EhwError, HandlerFailedError } from "../../../src/common/errors.js";
import {
  buildDeadLetterDocument,
  decodeBody,
  decodeRecord,
  describeError,
} from "../../../src/deadletter/document.js";
import { replayEventOf, replayTargetOf } from "../../../src/deadletter/replay.js";
import { receivedEvent } from "./fakes.js";

const AT = Date.UTC(2026, 10, 21, 23, 30, 0, 0);
const ctx = {
  eventHubName: "orders",
  consumerGroup: "$Default",
  partitionId: "2",
  pipeline: "audit",
  attempts: 3,
  error: new HandlerFailedError('handler "a" failed: boom', { cause: new TypeError("boom") }),
  deadLetteredAtMs: AT,
};

describe("buildDeadLetterDocument", () => {
  it("records where the event came from and why it failed", () => {
    const event = receivedEvent(7, {
      partitionKey: "k-1",
      messageId: "m-7",
      correlationId: 99,
      contentType: "application/json",
      systemProperties: { "x-opt-partition-key": "k-1" },
    });
    const doc = buildDeadLetterDocument(event, ctx);
    expect(doc).toMatchObject({
      version: 1,
      eventHubName: "orders",
      consumerGroup: "$Default",
      partitionId: "2",
      sequenceNumber: 7,
      offset: "700",
      enqueuedTime: "2026-01-02T03:04:05.007Z",
      partitionKey: "k-1",
      pipeline: "audit",
      attempts: 3,
      deadLetteredAt: "2026-11-21T23:30:00.000Z",
      bodyEncoding: "json",
      bodyType: "data",
      body: { n: 7 },
      properties: { id: "e-7" },
      messageId: "m-7",
      correlationId: 99,
      contentType: "application/json",
      systemProperties: { "x-opt-partition-key": "k-1" },
    });
    expect(doc.error).toEqual({
      name: "HandlerFailedError",
      message: 'handler "a" failed: boom',
      code: "HANDLER_FAILED",
      retriable: false,
      causes: [{ name: "TypeError", message: "boom" }],
    });
    expect(doc.unit).toBeUndefined();
    // The document is plain JSON: nothing is lost by serialising it.
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it("omits the partition key when the event had none", () => {
    const doc = buildDeadLetterDocument(receivedEvent(1), ctx);
    expect("partitionKey" in doc).toBe(false);
  });

  it("stores a binary body as base64 with a flag, and gets the same bytes back", () => {
    const bytes = Buffer.from([0xff, 0x00, 0x7b, 0x80, 0x22]);
    const doc = buildDeadLetterDocument(receivedEvent(1, { body: bytes }), ctx);
    expect(doc.bodyEncoding).toBe("base64");
    expect(doc.body).toBe(bytes.toString("base64"));
    const back = decodeBody(JSON.parse(JSON.stringify(doc)));
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(Buffer.compare(back as Buffer, bytes)).toBe(0);
  });

  it("stores a string body and a null body as JSON values", () => {
    expect(buildDeadLetterDocument(receivedEvent(1, { body: "plain text" }), ctx)).toMatchObject({
      bodyEncoding: "json",
      body: "plain text",
    });
    expect(buildDeadLetterDocument(receivedEvent(1, { body: undefined }), ctx)).toMatchObject({
      bodyEncoding: "json",
      body: null,
    });
  });

  it("tags property values JSON cannot carry and decodes them back", () => {
    const when = new Date(AT);
    const event = receivedEvent(1, {
      properties: { when, blob: Buffer.from("hi"), big: 12n, nested: { at: when }, n: 1, s: "x", b: true },
    });
    const doc = JSON.parse(JSON.stringify(buildDeadLetterDocument(event, ctx)));
    expect(doc.properties).toEqual({
      when: { $date: when.toISOString() },
      blob: { $base64: Buffer.from("hi").toString("base64") },
      big: { $bigint: "12" },
      nested: { at: { $date: when.toISOString() } },
      n: 1,
      s: "x",
      b: true,
    });
    const decoded = decodeRecord(doc.properties);
    expect(decoded.when).toEqual(when);
    expect(decoded.blob).toEqual(Buffer.from("hi"));
    expect(decoded.big).toBe(12n);
    expect(decoded).toMatchObject({ n: 1, s: "x", b: true, nested: { at: when } });
  });

  it("records the unit of a batch of several events", () => {
    const doc = buildDeadLetterDocument(receivedEvent(5), {
      ...ctx,
      unit: { firstSequenceNumber: 4, eventCount: 3 },
    });
    expect(doc.unit).toEqual({ firstSequenceNumber: 4, eventCount: 3 });
  });
});

describe("describeError", () => {
  it("names a thrown string, object and undefined by their type with their text", () => {
    expect(describeError("nope")).toEqual({ name: "thrown string", message: "nope", causes: [] });
    expect(describeError({ status: 500 })).toEqual({
      name: "thrown object",
      message: '{"status":500}',
      causes: [],
    });
    expect(describeError(undefined)).toEqual({ name: "thrown undefined", message: "undefined", causes: [] });
    expect(describeError(null)).toEqual({ name: "thrown null", message: "null", causes: [] });
  });

  it("keeps a non-Error cause (a handler threw a plain value) in the chain", () => {
    const wrapped = new HandlerFailedError("handler failed: [object Object]", { cause: { reason: "bad" } });
    expect(describeError(wrapped).causes).toEqual([{ name: "thrown object", message: '{"reason":"bad"}' }]);
  });

  it("walks the cause chain in order and stops at a cycle", () => {
    const inner = new Error("socket closed");
    (inner as { code?: string }).code = "ECONNRESET";
    const middle = new EhwError("STORE", "store failed", { cause: inner, retriable: true });
    const outer = new Error("outer", { cause: middle });
    (inner as { cause?: unknown }).cause = outer;
    const described = describeError(outer);
    expect(described.causes).toEqual([
      { name: "EhwError", message: "store failed", code: "STORE" },
      { name: "Error", message: "socket closed", code: "ECONNRESET" },
    ]);
  });

  it("never stores a key that an error message quotes", () => {
    const err = new Error("bad Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0");
    expect(JSON.stringify(describeError(err))).not.toContain("c2VjcmV0");
  });
});

describe("replay form", () => {
  it("sends the original body, properties and ids", () => {
    const event = receivedEvent(3, {
      body: Buffer.from([1, 2, 3]),
      properties: { kind: "order", at: new Date(AT) },
      messageId: "m-3",
      contentType: "application/octet-stream",
      partitionKey: "k",
    });
    const doc = JSON.parse(JSON.stringify(buildDeadLetterDocument(event, ctx)));
    const replay = replayEventOf(doc) as { body: unknown; properties: Record<string, unknown> };
    expect(replay).toMatchObject({ messageId: "m-3", contentType: "application/octet-stream" });
    expect(replay.body).toEqual(Buffer.from([1, 2, 3]));
    expect(replay.properties).toEqual({ kind: "order", at: new Date(AT) });
    expect(replayTargetOf(doc, true)).toEqual({ partitionKey: "k" });
  });

  it("keeps the partition of a keyless event on the same hub only", () => {
    const doc = buildDeadLetterDocument(receivedEvent(3), ctx);
    expect(replayTargetOf(doc, true)).toEqual({ partitionId: "2" });
    expect(replayTargetOf(doc, false)).toEqual({});
  });
});
