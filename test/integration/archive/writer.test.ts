/**
 * The partition writer against a real Azurite: windows, recovery after a crash at each step of a
 * commit, and a stale writer fenced by ETags. Events are built by hand; the worker is not involved.
 */
import { randomBytes } from "node:crypto";
import type { ReceivedEventData } from "@azure/event-hubs";
import type { ContainerClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { EhwError } from "../../../src/common/errors.js";
import { headBlobName } from "../../../src/handlers/builtins/archive/naming.js";
import {
  type CompiledArchiveOptions,
  compileArchiveOptions,
} from "../../../src/handlers/builtins/archive/options.js";
import { PartitionArchiveWriter } from "../../../src/handlers/builtins/archive/partition-writer.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { readArchiveFiles } from "../../helpers/archive.js";
import { freshContainer, testStack } from "../../helpers/stack.js";

const T0 = Date.UTC(2026, 11, 3, 7, 0, 0);

function event(seq: number, bodyBytes = 10): ReceivedEventData {
  return {
    // Random bytes: deflate must not shrink the bodies that fill a size window.
    body: randomBytes(bodyBytes),
    properties: { id: `e-${seq}` },
    enqueuedTimeUtc: new Date(T0 + seq * 1000),
    partitionKey: null,
    offset: String(seq * 100),
    sequenceNumber: seq,
    getRawAmqpMessage: () => {
      throw new Error("none");
    },
  };
}

const range = (from: number, to: number): ReceivedEventData[] =>
  Array.from({ length: to - from + 1 }, (_, i) => event(from + i));

async function setup(extra: Record<string, unknown> = {}): Promise<{
  container: ContainerClient;
  options: CompiledArchiveOptions;
  writer: (clock?: () => number) => PartitionArchiveWriter;
}> {
  const { containerName, containerClient } = await freshContainer("arch");
  const options = compileArchiveOptions(
    {
      container: containerName,
      storageConnectionString: testStack().azurite.connectionString,
      namespace: "ns",
      ...extra,
    },
    { name: "archive" },
  );
  const writer = (clock?: () => number) =>
    new PartitionArchiveWriter({
      container: containerClient,
      options,
      eventHubName: "hub",
      partitionId: "0",
      logger: silentLogger(),
      clock,
    });
  return { container: containerClient, options, writer };
}

async function sequences(container: ContainerClient): Promise<{ names: string[]; seqs: number[] }> {
  const files = await readArchiveFiles(container);
  const names = [...files.keys()].sort((a, b) => firstSeq(a) - firstSeq(b));
  return { names, seqs: names.flatMap((n) => (files.get(n) ?? []).map((r) => r.SequenceNumber)) };
}

const firstSeq = (name: string): number => Number(/-(\d+)\.avro$/.exec(name)?.[1]);

describe("archive partition writer", () => {
  it("appends batches to one file named by its partition, first event time and first sequence number", async () => {
    const { container, writer } = await setup();
    const w = writer();
    expect(await w.append(range(0, 4))).toEqual({
      written: 5,
      skipped: 0,
      file: "ns/hub/0/2026/12/03/07/00/00-0.avro",
    });
    await w.append(range(5, 9));
    const { names, seqs } = await sequences(container);
    expect(names).toEqual(["ns/hub/0/2026/12/03/07/00/00-0.avro"]);
    expect(seqs).toEqual(range(0, 9).map((e) => e.sequenceNumber));
    const props = await container.getBlockBlobClient(names[0] as string).getProperties();
    expect(props.metadata).toMatchObject({
      firstsequencenumber: "0",
      lastsequencenumber: "9",
      eventcount: "10",
    });
    const head = await container.getBlockBlobClient(headBlobName("ns", "hub", "0")).downloadToBuffer();
    expect(JSON.parse(head.toString())).toEqual({ file: names[0], firstSequenceNumber: 0 });
  });

  it("starts the next file when the time window has passed or the size window is full", async () => {
    const { container, writer } = await setup({ windowSeconds: 60, windowBytes: 4096 });
    let now = T0;
    const w = writer(() => now);
    await w.append(range(0, 1));
    now += 59_000;
    await w.append(range(2, 3));
    now += 1_000;
    await w.append(range(4, 5));
    // One big body still fits in 4 KiB with the header; a second one does not and opens a file.
    await w.append([event(6, 2000)]);
    await w.append([event(7, 2000)]);
    const { names, seqs } = await sequences(container);
    expect(names.map(firstSeq)).toEqual([0, 4, 7]);
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("after a crash, skips what is archived and continues the same file", async () => {
    const { container, writer } = await setup();
    await writer().append(range(0, 9));
    // A new process replays from an older checkpoint.
    const restarted = writer();
    expect(await restarted.append(range(4, 14))).toMatchObject({ written: 5, skipped: 6 });
    const { names, seqs } = await sequences(container);
    expect(names).toHaveLength(1);
    expect(seqs).toEqual(range(0, 14).map((e) => e.sequenceNumber));
  });

  it("after a crash between the head write and the file's commit, writes that same file", async () => {
    const { container, writer } = await setup({ windowSeconds: 1 });
    let now = T0;
    await writer(() => now).append(range(0, 4));
    // The head already names the next file, which was never committed.
    const next = "ns/hub/0/2026/12/03/07/00/05-5.avro";
    const text = JSON.stringify({ file: next, firstSequenceNumber: 5 });
    await container.getBlockBlobClient(headBlobName("ns", "hub", "0")).upload(text, text.length);
    now += 5_000;
    const restarted = writer(() => now);
    expect(await restarted.append(range(3, 7))).toEqual({ written: 3, skipped: 2, file: next });
    const { names, seqs } = await sequences(container);
    expect(names.map(firstSeq)).toEqual([0, 5]);
    expect(seqs).toEqual(range(0, 7).map((e) => e.sequenceNumber));
  });

  it("fences a stale writer with the ETags: it fails once, reads the state again, and adds no copy", async () => {
    const { container, writer } = await setup();
    const a = writer();
    const b = writer();
    await a.append(range(0, 4));
    await b.append(range(0, 9));
    const stale = await a.append(range(5, 12)).catch((err: unknown) => err);
    expect(stale).toBeInstanceOf(EhwError);
    expect((stale as EhwError).code).toBe("ARCHIVE_CONFLICT");
    expect((stale as EhwError).retriable).toBe(true);
    expect(await a.append(range(5, 12))).toMatchObject({ written: 3, skipped: 5 });
    expect((await sequences(container)).seqs).toEqual(range(0, 12).map((e) => e.sequenceNumber));
  });

  it("writes uncompressed blocks with the null codec", async () => {
    const { container, writer } = await setup({ codec: "null" });
    await writer().append(range(0, 2));
    const { names, seqs } = await sequences(container);
    const bytes = await container.getBlockBlobClient(names[0] as string).downloadToBuffer();
    expect(bytes.includes(Buffer.from("avro.codec\u0008null"))).toBe(true);
    expect(seqs).toEqual([0, 1, 2]);
  });
});
