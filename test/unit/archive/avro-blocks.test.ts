import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  encodeBlocks,
  encodeHeader,
  newSyncMarker,
} from "../../../src/handlers/builtins/archive/avro-blocks.js";
import type { ArchiveCodec } from "../../../src/handlers/builtins/archive/options.js";
import type { CaptureRecord } from "../../../src/handlers/builtins/archive/schema.js";
import { decodeAvro } from "../../helpers/archive.js";

function record(seq: number, body: Buffer): CaptureRecord {
  return {
    SequenceNumber: seq,
    Offset: String(seq * 10),
    EnqueuedTimeUtc: "2026-12-03T07:00:00.0000000Z",
    SystemProperties: { "x-opt-sequence-number": { long: seq } },
    // Properties the block-size guess does not count, so that a batch outgrows it.
    Properties: { pad: { string: "p".repeat(600) } },
    Body: body,
  };
}

async function file(codec: ArchiveCodec, batches: CaptureRecord[][], deflateLevel = 6): Promise<Buffer> {
  const syncMarker = newSyncMarker();
  const parts = [await encodeHeader(codec, syncMarker)];
  for (const batch of batches) parts.push(await encodeBlocks(batch, { codec, syncMarker, deflateLevel }));
  return Buffer.concat(parts);
}

describe("Avro blocks", () => {
  it.each(["deflate", "null"] as const)("round-trips batches appended to a header (%s)", async (codec) => {
    const batches = [0, 1, 2].map((b) =>
      Array.from({ length: 40 }, (_, i) => record(b * 40 + i, randomBytes(300))),
    );
    const records = await decodeAvro(await file(codec, batches));
    expect(records.map((r) => r.SequenceNumber)).toEqual(batches.flat().map((r) => r.SequenceNumber));
    expect(records[7]?.Body).toEqual(batches[0]?.[7]?.Body);
    expect(records[100]?.Properties).toEqual({ pad: { string: "p".repeat(600) } });
  });

  it("splits a batch bigger than a block into several blocks of one piece", async () => {
    const batch = Array.from({ length: 600 }, (_, i) => record(i, randomBytes(1000)));
    const syncMarker = newSyncMarker();
    const data = await encodeBlocks(batch, { codec: "null", syncMarker, deflateLevel: 6 });
    // Every block ends in the file's marker: more than one here (the largest block is 256 KiB).
    let markers = 0;
    for (let at = data.indexOf(syncMarker); at !== -1; at = data.indexOf(syncMarker, at + 1)) markers += 1;
    expect(markers).toBeGreaterThan(2);
    const records = await decodeAvro(Buffer.concat([await encodeHeader("null", syncMarker), data]));
    expect(records.map((r) => r.SequenceNumber)).toEqual(batch.map((r) => r.SequenceNumber));
  });

  it("compresses more at a higher deflate level, and every level reads back", async () => {
    const text = Buffer.from("abcdefghij".repeat(40));
    const batch = Array.from({ length: 200 }, (_, i) =>
      record(i, Buffer.concat([text, Buffer.from(String(i))])),
    );
    const fast = await file("deflate", [batch], 1);
    const small = await file("deflate", [batch], 9);
    expect(small.length).toBeLessThan(fast.length);
    expect((await decodeAvro(fast)).map((r) => r.SequenceNumber)).toEqual(batch.map((r) => r.SequenceNumber));
  });

  it.each(["deflate", "null"] as const)("writes a record larger than a block whole (%s)", async (codec) => {
    const big = randomBytes(300 * 1024);
    const batch = [record(0, randomBytes(100)), record(1, big), record(2, randomBytes(100))];
    const records = await decodeAvro(await file(codec, [batch, [record(3, randomBytes(50))]]));
    expect(records.map((r) => r.SequenceNumber)).toEqual([0, 1, 2, 3]);
    // Buffer#equals: a deep comparison of 300 KiB byte by byte takes seconds.
    const body = records[1]?.Body;
    expect(Buffer.isBuffer(body) && body.equals(big)).toBe(true);
    expect(records[2]?.Body).toEqual(batch[2]?.Body);
  });
});
