/**
 * Avro object container pieces through avsc: the header of a file (its BlockEncoder), and the
 * data blocks appended to it (its types). A file is its header followed by its blocks, each
 * ending in the file's sync marker, so a block encoded with a file's marker can be staged and
 * committed on its own.
 */
import { randomBytes } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import avro from "avsc";
import type { ArchiveCodec } from "./options.js";
import { CAPTURE_SCHEMA, type CaptureRecord } from "./schema.js";

/** Largest uncompressed Avro block; a bigger batch becomes several blocks in one staged piece. */
const AVRO_BLOCK_BYTES = 256 * 1024;

/**
 * The schema compiled once: avsc generates a record's reader and writer as code when it builds a
 * type, which per batch cost more than encoding the batch.
 */
const CAPTURE_TYPE = avro.Type.forSchema(CAPTURE_SCHEMA);

/** A data block as the Avro specification frames it: record count, (compressed) bytes, marker. */
const BLOCK_TYPE = avro.Type.forSchema({
  type: "record",
  name: "Block",
  fields: [
    { name: "count", type: "long" },
    { name: "data", type: "bytes" },
    { name: "sync", type: { type: "fixed", name: "Sync", size: 16 } },
  ],
});

/**
 * Where records are encoded before a block is compressed and framed; the framed block is a copy,
 * so one buffer serves every batch (encoding is synchronous). It grows only for a record larger
 * than a block.
 */
let scratch = Buffer.allocUnsafe(AVRO_BLOCK_BYTES);

/** zlib options per level, made once: deflate runs on this thread (see {@link compress}). */
const deflateOptions = new Map<number, { level: number }>();

/**
 * A block's bytes under the codec. Deflate runs synchronously: a block is at most
 * {@link AVRO_BLOCK_BYTES}, and the thread-pool round trip of zlib's async API (a new zlib stream
 * per call, handed to another thread and back) cost more CPU than compressing on this thread.
 */
function compress(data: Buffer, codec: ArchiveCodec, deflateLevel: number): Buffer {
  if (codec === "null") return data;
  let options = deflateOptions.get(deflateLevel);
  if (options === undefined) {
    options = { level: deflateLevel };
    deflateOptions.set(deflateLevel, options);
  }
  return deflateRawSync(data, options);
}

/** A fresh 16-byte sync marker. */
export function newSyncMarker(): Buffer {
  return randomBytes(16);
}

function collect(encoder: avro.streams.BlockEncoder): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    encoder.on("data", (chunk: Buffer) => chunks.push(chunk));
    encoder.on("error", reject);
    encoder.on("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
  });
}

/** The header of a Capture file with this codec and sync marker (schema text as Capture's). */
export function encodeHeader(codec: ArchiveCodec, syncMarker: Buffer): Promise<Buffer> {
  // The schema object, not the compiled type: avsc writes an object's own JSON text, Capture's.
  const encoder = new avro.streams.BlockEncoder(CAPTURE_SCHEMA, { codec, syncMarker, writeHeader: "always" });
  const done = collect(encoder);
  encoder.end();
  return done;
}

/** Options of {@link encodeBlocks}. */
export interface BlockEncoding {
  readonly codec: ArchiveCodec;
  readonly syncMarker: Buffer;
  /** zlib level of the deflate codec, 1 (fastest) … 9 (smallest). */
  readonly deflateLevel: number;
}

/**
 * Data blocks holding the records, in order, for a file of this codec and sync marker. The records
 * are encoded one after another into one buffer (avsc's `Type#encode`) and each block is framed by
 * one `Type#toBuffer` call, without a stream and its per-record callbacks.
 */
export async function encodeBlocks(
  records: readonly CaptureRecord[],
  encoding: BlockEncoding,
): Promise<Buffer> {
  const blocks: Buffer[] = [];
  const frame = (end: number, count: number) => {
    const data = compress(scratch.subarray(0, end), encoding.codec, encoding.deflateLevel);
    blocks.push(BLOCK_TYPE.toBuffer({ count, data, sync: encoding.syncMarker }));
  };
  let pos = 0;
  let count = 0;
  for (const record of records) {
    let end = CAPTURE_TYPE.encode(record, scratch, pos);
    if (end < 0 && count > 0) {
      // The block is full: close it and start the next one with this record.
      frame(pos, count);
      count = 0;
      end = CAPTURE_TYPE.encode(record, scratch, 0);
    }
    if (end < 0) {
      // A record larger than a block: a block of its own, in a larger buffer (-end bytes short).
      scratch = Buffer.allocUnsafe(scratch.length - end);
      end = CAPTURE_TYPE.encode(record, scratch, 0);
    }
    pos = end;
    count += 1;
  }
  if (count > 0) frame(pos, count);
  return blocks.length === 1 ? (blocks[0] as Buffer) : Buffer.concat(blocks);
}
