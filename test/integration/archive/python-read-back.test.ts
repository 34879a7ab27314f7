/**
 * Files written by the archive under a real `ehw run` (emulator, Azurite), read back by Apache
 * Avro's own Python reader (Debian's python3-avro), which this project never writes with: the
 * header carries Capture's schema text, and every field of every event is there as Capture defines
 * it — SequenceNumber long, Offset string, EnqueuedTimeUtc string, SystemProperties and Properties
 * maps of long/double/string/bytes, Body bytes — equal to what the SDK receives from the hub.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  EventHubConsumerClient,
  EventHubProducerClient,
  earliestEventPosition,
  type ReceivedEventData,
} from "@azure/event-hubs";
import { BlobServiceClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { CAPTURE_SCHEMA } from "../../../src/handlers/builtins/archive/schema.js";
import { testStack, uniqueName } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { checkpointsOf, startWorker, useWorkerTests } from "../worker/support.js";
import {
  archiveWorkerEnv,
  type PythonFile,
  pythonAvroMissing,
  readWithPython,
  waitForArchived,
  writeArchiveConfig,
} from "./support.js";

const missing = pythonAvroMissing();
const PER_PARTITION = 30;

/** Sends a mix of JSON, text and binary bodies with every kind of property; returns the binary bodies by id. */
async function sendMixed(hubName: string): Promise<Map<string, Buffer>> {
  const producer = new EventHubProducerClient(testStack().emulator.connectionString, hubName);
  const binaries = new Map<string, Buffer>();
  try {
    for (const partitionId of ["0", "1"]) {
      const batch = await producer.createBatch({ partitionId });
      for (let n = 0; n < PER_PARTITION; n += 1) {
        const id = `${partitionId}-${n}`;
        const bytes = randomBytes(40);
        if (n % 3 === 2) binaries.set(id, bytes);
        const body = n % 3 === 0 ? { n, text: "é ✓" } : n % 3 === 1 ? `plain text ${n}` : bytes;
        const added = batch.tryAdd({
          body,
          properties: { id, count: n, ratio: n + 0.25, flag: n % 2 === 0, raw: Buffer.from([n, 1, 2]) },
          messageId: `m-${id}`,
          contentType: n % 3 === 0 ? "application/json" : undefined,
        });
        if (!added) throw new Error("batch too large");
      }
      await producer.sendBatch(batch);
    }
  } finally {
    await producer.close();
  }
  return binaries;
}

/** Every event of the hub as the SDK receives it, by id. */
async function receiveAll(hubName: string, count: number): Promise<Map<string, ReceivedEventData>> {
  const consumer = new EventHubConsumerClient("$Default", testStack().emulator.connectionString, hubName);
  const events = new Map<string, ReceivedEventData>();
  const subscription = consumer.subscribe(
    {
      processEvents: async (batch) => {
        for (const e of batch) events.set(String(e.properties?.id), e);
      },
      processError: async () => {},
    },
    { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
  );
  try {
    await waitFor(() => events.size >= count, { timeoutMs: 30_000, what: `${count} events received` });
  } finally {
    await subscription.close();
    await consumer.close();
  }
  return events;
}

describe.skipIf(missing !== undefined)(
  `archive files read by Apache Avro's Python reader${missing === undefined ? "" : ` (skipped: ${missing})`}`,
  () => {
    const tests = useWorkerTests();

    it.each(["deflate", "null"])("holds every event with Capture's fields (%s codec)", async (codec) => {
      const { hubName, containerName, containerClient, dir } = await tests.fresh(2);
      const archiveName = uniqueName("arch");
      const config = await writeArchiveConfig(dir, { container: archiveName, codec });
      tests.workers.push(
        await startWorker("archiver", archiveWorkerEnv(hubName, containerName), ["--config", config]),
      );
      const binaries = await sendMixed(hubName);
      const total = 2 * PER_PARTITION;
      const archive = BlobServiceClient.fromConnectionString(
        testStack().azurite.connectionString,
      ).getContainerClient(archiveName);
      await waitForArchived(archive, total);
      // Events complete only once their file is committed, so the checkpoints reach the last event.
      await waitFor(
        async () =>
          [...(await checkpointsOf(containerClient, hubName)).values()].filter(
            (c) => c.sequenceNumber === PER_PARTITION - 1,
          ).length === 2,
        { timeoutMs: 30_000, what: "checkpoints at the last event of both partitions" },
      );

      const local = join(dir, "files");
      const paths: string[] = [];
      for await (const blob of archive.listBlobsFlat()) {
        if (!blob.name.endsWith(".avro")) continue;
        const path = join(local, blob.name);
        await mkdir(join(path, ".."), { recursive: true });
        await writeFile(path, await archive.getBlockBlobClient(blob.name).downloadToBuffer());
        paths.push(path);
      }
      expect(
        paths
          .map((p) =>
            p
              .slice(local.length + 1)
              .split("/")
              .slice(0, 3)
              .join("/"),
          )
          .sort(),
      ).toEqual([`127.0.0.1/${hubName}/0`, `127.0.0.1/${hubName}/1`]);
      const files: PythonFile[] = readWithPython(paths);
      for (const file of files) {
        expect(JSON.parse(file.schema)).toEqual(CAPTURE_SCHEMA);
        expect(file.codec).toBe(codec);
      }
      // The worker's epoch readers would refuse a plain reader on the same consumer group.
      for (const worker of tests.workers.splice(0)) await worker.child.stop({ timeoutMs: 15_000 });
      const received = await receiveAll(hubName, total);
      const records = files.flatMap((f) => f.records);
      expect(records).toHaveLength(total);
      const ids = records.map((r) => (r.Properties?.map as Record<string, Tagged>)?.id?.string);
      expect(new Set(ids).size).toBe(total);
      for (const record of records) checkRecord(record, received, binaries);
    });
  },
);

type Tagged = Record<string, unknown>;

function checkRecord(
  record: Record<string, Tagged>,
  received: ReadonlyMap<string, ReceivedEventData>,
  binaries: ReadonlyMap<string, Buffer>,
): void {
  const properties = record.Properties?.map as Record<string, Tagged>;
  const id = String(properties.id?.string);
  const event = received.get(id);
  if (event === undefined) throw new Error(`record ${id} was never sent`);
  const n = Number(id.split("-")[1]);
  expect(record.SequenceNumber).toEqual({ long: event.sequenceNumber });
  expect(record.Offset).toEqual({ string: event.offset });
  const enqueued = String(record.EnqueuedTimeUtc?.string);
  expect(enqueued).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
  expect(Date.parse(enqueued)).toBe(event.enqueuedTimeUtc.getTime());
  expect(properties).toEqual({
    id: { string: id },
    count: { long: n },
    ratio: { double: n + 0.25 },
    flag: { string: String(n % 2 === 0) },
    raw: { bytes: Buffer.from([n, 1, 2]).toString("base64") },
  });
  const system = record.SystemProperties?.map as Record<string, Tagged>;
  expect(system["x-opt-sequence-number"]).toEqual({ long: event.sequenceNumber });
  expect(system["x-opt-offset"]).toEqual({ string: event.offset });
  expect(system["x-opt-enqueued-time"]).toEqual({ long: event.enqueuedTimeUtc.getTime() });
  expect(system.messageId).toEqual({ string: `m-${id}` });
  const body = Buffer.from(String(record.Body?.bytes), "base64");
  if (n % 3 === 0) expect(JSON.parse(body.toString("utf8"))).toEqual({ n, text: "é ✓" });
  if (n % 3 === 1) expect(JSON.parse(body.toString("utf8"))).toBe(`plain text ${n}`);
  if (n % 3 === 2) expect(body.equals(binaries.get(id) as Buffer)).toBe(true);
}
