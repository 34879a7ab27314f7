import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  EventHubConsumerClient,
  EventHubProducerClient,
  earliestEventPosition,
  type ReceivedEventData,
} from "@azure/event-hubs";
import { afterEach, describe, expect, it } from "vitest";
import type { EmulatorServer } from "../../../src/emulator/index.js";
import { waitFor } from "../../helpers/wait-for.js";
import { Closer, FAST_RETRY, startTestEmulator } from "./harness.js";

describe("emulator persistence across restarts", () => {
  const closer = new Closer();
  const dirs: string[] = [];
  let emulator: EmulatorServer | undefined;

  afterEach(async () => {
    await closer.closeAll();
    await emulator?.close();
    emulator = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function readAll(server: EmulatorServer, hub: string, count: number): Promise<ReceivedEventData[]> {
    const consumer = closer.add(
      new EventHubConsumerClient("$Default", server.connectionString(), hub, { retryOptions: FAST_RETRY }),
    );
    const got: ReceivedEventData[] = [];
    const sub = closer.add(
      consumer.subscribe(
        "0",
        {
          processEvents: async (events) => {
            got.push(...events);
          },
          processError: async () => {},
        },
        { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
      ),
    );
    await waitFor(() => got.length >= count, { what: `${count} events` });
    await sub.close();
    return got;
  }

  it("keeps events, sequence numbers, offsets and runtime-created hubs through a restart", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ehw-emu-"));
    dirs.push(dataDir);
    emulator = await startTestEmulator({ dataDir });
    emulator.createHub({ name: "persisted", partitionCount: 2, consumerGroups: ["audit"] });
    const producer = new EventHubProducerClient(emulator.connectionString(), "persisted", {
      retryOptions: FAST_RETRY,
    });
    await producer.sendBatch(
      Array.from({ length: 5 }, (_, i) => ({ body: { i }, properties: { n: i } })),
      { partitionId: "0" },
    );
    await producer.sendBatch([{ body: "keyed" }], { partitionKey: "k" });
    const before = await readAll(emulator, "persisted", 5);
    const propsBefore = await producer.getPartitionProperties("0");
    await producer.close();
    await closer.closeAll();
    await emulator.close();

    emulator = await startTestEmulator({ dataDir });
    expect(emulator.hubs().find((h) => h.name === "persisted")).toEqual({
      name: "persisted",
      partitionCount: 2,
      consumerGroups: ["$Default", "audit"],
    });
    const after = await readAll(emulator, "persisted", 5);
    const view = (events: ReceivedEventData[]) =>
      events.map((e) => ({
        body: e.body,
        properties: e.properties,
        sequenceNumber: e.sequenceNumber,
        offset: e.offset,
        enqueued: e.enqueuedTimeUtc.getTime(),
      }));
    expect(view(after)).toEqual(view(before));
    const reopened = closer.add(
      new EventHubProducerClient(emulator.connectionString(), "persisted", { retryOptions: FAST_RETRY }),
    );
    const propsAfter = await reopened.getPartitionProperties("0");
    expect(propsAfter.lastEnqueuedSequenceNumber).toBe(propsBefore.lastEnqueuedSequenceNumber);
    expect(propsAfter.lastEnqueuedOffset).toBe(propsBefore.lastEnqueuedOffset);
    // Numbering continues where it stopped.
    await reopened.sendBatch([{ body: "next" }], { partitionId: "0" });
    expect((await reopened.getPartitionProperties("0")).lastEnqueuedSequenceNumber).toBe(5);
    // A reader can resume from an offset handed out before the restart.
    const consumer = closer.add(
      new EventHubConsumerClient("audit", emulator.connectionString(), "persisted", {
        retryOptions: FAST_RETRY,
      }),
    );
    const resumed: ReceivedEventData[] = [];
    closer.add(
      consumer.subscribe(
        "0",
        {
          processEvents: async (events) => {
            resumed.push(...events);
          },
          processError: async () => {},
        },
        {
          startPosition: { offset: before[2]?.offset as string, isInclusive: false },
          maxWaitTimeInSeconds: 1,
        },
      ),
    );
    await waitFor(() => resumed.length >= 3, { what: "events after the old offset" });
    expect(resumed.map((e) => e.sequenceNumber)).toEqual([3, 4, 5]);
  });
});
