/**
 * Avro object container pieces through avsc's BlockEncoder: the header of a file, and the data
 * blocks appended to it. A file is its header followed by its blocks, each ending in the file's
 * sync marker, so a block encoded with a file's marker can be staged and committed on its own.
 */
import { randomBytes } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import avro from "avsc";
import type { ArchiveCodec } from "./options.js";
import { CAPTURE_SCHEMA, type CaptureRecord } from "./schema.js";

/** Largest uncompressed Avro block; a bigger batch becomes several blocks in one staged piece. */
const AVRO_BLOCK_BYTES = 256 * 1024;
/** Smallest block buffer, and the bytes a record takes besides its body and properties. */
const MIN_BLOCK_BYTES = 4 * 1024;
const RECORD_OVERHEAD_BYTES = 256;

/**
 * The schema compiled once: avsc generates a record's reader and writer as code when it builds a
 * type, which per batch cost more than encoding the batch.
 */
const CAPTURE_TYPE = avro.Type.forSchema(CAPTURE_SCHEMA);

type Codec = (data: Buffer, done: (err: Error | null, out?: Buffer) => void) => void;

/**
 * Block codecs for avsc. Deflate runs synchronously on the block buffer: a block is at most
 * {@link AVRO_BLOCK_BYTES}, and the thread-pool round trip of zlib's async API (a new zlib stream
 * per call, handed to another thread and back) cost more CPU than compressing on this thread.
 */
function codecsFor(deflateLevel: number): Record<ArchiveCodec, Codec> {
  return {
    null: (data, done) => done(null, data),
    deflate: (data, done) => {
      let out: Buffer;
      try {
        out = deflateRawSync(data, { level: deflateLevel });
      } catch (err) {
        done(err as Error);
        return;
      }
      done(null, out);
    },
  };
}

const codecCache = new Map<number, Record<ArchiveCodec, Codec>>();
function codecs(deflateLevel: number): Record<ArchiveCodec, Codec> {
  let found = codecCache.get(deflateLevel);
  if (found === undefined) {
    found = codecsFor(deflateLevel);
    codecCache.set(deflateLevel, found);
  }
  return found;
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

/**
 * A block buffer about the size of the records, so that a small batch does not allocate (and
 * zero) the largest block; avsc starts another block when a guess is short.
 */
function blockBytesFor(records: readonly CaptureRecord[]): number {
  let bytes = 0;
  for (const record of records) bytes += (record.Body?.length ?? 0) + RECORD_OVERHEAD_BYTES;
  return Math.min(AVRO_BLOCK_BYTES, Math.max(MIN_BLOCK_BYTES, bytes));
}

/** Options of {@link encodeBlocks}. */
export interface BlockEncoding {
  readonly codec: ArchiveCodec;
  readonly syncMarker: Buffer;
  /** zlib level of the deflate codec, 1 (fastest) … 9 (smallest). */
  readonly deflateLevel: number;
}

/** Data blocks holding the records, in order, for a file of this codec and sync marker. */
export function encodeBlocks(records: readonly CaptureRecord[], encoding: BlockEncoding): Promise<Buffer> {
  const encoder = new avro.streams.BlockEncoder(CAPTURE_TYPE, {
    codec: encoding.codec,
    codecs: codecs(encoding.deflateLevel),
    syncMarker: encoding.syncMarker,
    writeHeader: "never",
    blockSize: blockBytesFor(records),
  });
  const done = collect(encoder);
  for (const record of records) encoder.write(record);
  encoder.end();
  return done;
}
