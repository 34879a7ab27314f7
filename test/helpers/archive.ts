/** Reading an archive container back in tests, through avsc (the writer's library). */
import { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import avro from "avsc";

/** One decoded record, with avsc's wrapped union values. */
export type DecodedRecord = Record<string, unknown> & { SequenceNumber: number };

/** Every record of one Avro object container file. */
export async function decodeAvro(bytes: Buffer): Promise<DecodedRecord[]> {
  const records: DecodedRecord[] = [];
  const decoder = Readable.from([bytes]).pipe(new avro.streams.BlockDecoder());
  for await (const record of decoder) records.push(record as DecodedRecord);
  return records;
}

/** Every `.avro` file of the container (heads left out), by blob name, decoded. */
export async function readArchiveFiles(container: ContainerClient): Promise<Map<string, DecodedRecord[]>> {
  const files = new Map<string, DecodedRecord[]>();
  for await (const blob of container.listBlobsFlat()) {
    if (!blob.name.endsWith(".avro")) continue;
    files.set(blob.name, await decodeAvro(await container.getBlockBlobClient(blob.name).downloadToBuffer()));
  }
  return files;
}

/** Sequence numbers per partition over every file, in file-name and record order. */
export function sequencesByPartition(
  files: ReadonlyMap<string, readonly DecodedRecord[]>,
  partitionOf: (name: string) => string,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [name, records] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const list = out.get(partitionOf(name)) ?? [];
    list.push(...records.map((r) => r.SequenceNumber));
    out.set(partitionOf(name), list);
  }
  return out;
}
