/**
 * Avro object container pieces through avsc's BlockEncoder: the header of a file, and the data
 * blocks appended to it. A file is its header followed by its blocks, each ending in the file's
 * sync marker, so a block encoded with a file's marker can be staged and committed on its own.
 */
import { randomBytes } from "node:crypto";
import avro from "avsc";
import type { ArchiveCodec } from "./options.js";
import { CAPTURE_SCHEMA, type CaptureRecord } from "./schema.js";

/** Largest uncompressed Avro block; a bigger batch becomes several blocks in one staged piece. */
const AVRO_BLOCK_BYTES = 256 * 1024;

/** A fresh 16-byte sync marker. */
export function newSyncMarker(): Buffer {
  return randomBytes(16);
}

function collect(encoder: avro.streams.BlockEncoder): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    encoder.on("data", (chunk: Buffer) => chunks.push(chunk));
    encoder.on("error", reject);
    encoder.on("end", () => resolve(Buffer.concat(chunks)));
  });
}

/** The header of a Capture file with this codec and sync marker (schema text as Capture's). */
export function encodeHeader(codec: ArchiveCodec, syncMarker: Buffer): Promise<Buffer> {
  const encoder = new avro.streams.BlockEncoder(CAPTURE_SCHEMA, { codec, syncMarker, writeHeader: "always" });
  const done = collect(encoder);
  encoder.end();
  return done;
}

/** Data blocks holding the records, in order, for a file of this codec and sync marker. */
export function encodeBlocks(
  records: readonly CaptureRecord[],
  codec: ArchiveCodec,
  syncMarker: Buffer,
): Promise<Buffer> {
  const encoder = new avro.streams.BlockEncoder(CAPTURE_SCHEMA, {
    codec,
    syncMarker,
    writeHeader: "never",
    blockSize: AVRO_BLOCK_BYTES,
  });
  const done = collect(encoder);
  for (const record of records) encoder.write(record);
  encoder.end();
  return done;
}
