/**
 * The body of the checkpoint I/O thread: a {@link BlobPartitionRecords} over its own container
 * client, built from the storage settings it was started with, answering calls from the main
 * thread one message each. Calls run concurrently; the guarded store on the main thread already
 * orders the writes of each partition.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { StorageConfig } from "../config/worker.js";
import { BlobPartitionRecords, type PartitionRecords } from "./blob-records.js";
import { createContainerClient } from "./blob-store.js";
import { metadataWriterFor } from "./metadata-writer.js";
import { type RecordsRequest, type RecordsResponse, serializeError } from "./records-protocol.js";

const port = parentPort;
if (port === null) throw new Error("records-thread-entry runs only as a worker thread");
const { storage } = workerData as { storage: StorageConfig };
const records: PartitionRecords = new BlobPartitionRecords(createContainerClient(storage), {
  metadataWriter: metadataWriterFor(storage.connectionString),
});

async function answer(request: RecordsRequest): Promise<RecordsResponse> {
  try {
    const call = records[request.op] as (...args: unknown[]) => Promise<unknown>;
    const value = await call.apply(records, [...request.args]);
    return { id: request.id, ok: true, value };
  } catch (err) {
    return { id: request.id, ok: false, error: serializeError(err) };
  }
}

port.on("message", (request: RecordsRequest) => {
  void answer(request).then((response) => port.postMessage(response));
});
port.postMessage({ id: 0, ready: true } satisfies RecordsResponse);
