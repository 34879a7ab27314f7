import { describe, expect, it } from "vitest";
import {
  deadLetterBlobName,
  deadLetterPrefix,
  parseDeadLetterBlobName,
} from "../../../src/deadletter/naming.js";

const AT = Date.UTC(2026, 10, 21, 23, 30, 0, 123);

describe("dead-letter blob names", () => {
  it("are <hub>/<cg>/<partition>/<seq>-<time>.json, lower-cased, zero-padded", () => {
    const name = deadLetterBlobName({
      eventHubName: "Orders",
      consumerGroup: "$Default",
      partitionId: "3",
      sequenceNumber: 42,
      deadLetteredAtMs: AT,
    });
    expect(name).toBe("orders/$default/3/00000000000000000042-20261121T233000123Z.json");
  });

  it("sort by sequence number, then time", () => {
    const ref = { eventHubName: "h", consumerGroup: "cg", partitionId: "0" };
    const names = [
      deadLetterBlobName({ ...ref, sequenceNumber: 10, deadLetteredAtMs: AT }),
      deadLetterBlobName({ ...ref, sequenceNumber: 9, deadLetteredAtMs: AT + 5 }),
      deadLetterBlobName({ ...ref, sequenceNumber: 9, deadLetteredAtMs: AT }),
      deadLetterBlobName({ ...ref, sequenceNumber: 100, deadLetteredAtMs: AT - 1000 }),
    ];
    const sorted = [...names].sort();
    expect(sorted.map((n) => parseDeadLetterBlobName(n)?.sequenceNumber)).toEqual([9, 9, 10, 100]);
    expect(sorted[0]).toBe(names[2]);
  });

  it("round-trip through the parser", () => {
    const ref = {
      eventHubName: "hub-1",
      consumerGroup: "cg",
      partitionId: "12",
      sequenceNumber: 2 ** 40,
      deadLetteredAtMs: AT,
    };
    expect(parseDeadLetterBlobName(deadLetterBlobName(ref))).toEqual(ref);
  });

  it("are unique per dead-lettering of the same event", () => {
    const ref = { eventHubName: "h", consumerGroup: "cg", partitionId: "0", sequenceNumber: 1 };
    expect(deadLetterBlobName({ ...ref, deadLetteredAtMs: AT })).not.toBe(
      deadLetterBlobName({ ...ref, deadLetteredAtMs: AT + 1 }),
    );
  });

  it("parse nothing else", () => {
    for (const name of [
      "h/cg/0/42-20261121T233000123Z.json",
      "h/cg/0/00000000000000000042.json",
      "h/cg/00000000000000000042-20261121T233000123Z.json",
      "h/cg/0/00000000000000000042-20261121T233000123Z.txt",
    ]) {
      expect(parseDeadLetterBlobName(name)).toBeUndefined();
    }
  });

  it("reject a negative or fractional sequence number", () => {
    const ref = { eventHubName: "h", consumerGroup: "cg", partitionId: "0", deadLetteredAtMs: AT };
    expect(() => deadLetterBlobName({ ...ref, sequenceNumber: -1 })).toThrow(RangeError);
    expect(() => deadLetterBlobName({ ...ref, sequenceNumber: 1.5 })).toThrow(RangeError);
  });

  it("have per-consumer-group and per-partition prefixes", () => {
    expect(deadLetterPrefix("Hub", "CG")).toBe("hub/cg/");
    expect(deadLetterPrefix("Hub", "CG", "7")).toBe("hub/cg/7/");
  });
});
