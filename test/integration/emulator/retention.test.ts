import { EventHubProducerClient } from "@azure/event-hubs";
import { afterEach, describe, expect, it } from "vitest";
import type { EmulatorServer } from "../../../src/emulator/index.js";
import { waitFor } from "../../helpers/wait-for.js";
import { Closer, FAST_RETRY, freshHub, startTestEmulator } from "./harness.js";

describe("emulator retention", () => {
  const closer = new Closer();
  let emulator: EmulatorServer | undefined;

  afterEach(async () => {
    await closer.closeAll();
    await emulator?.close();
  });

  it("drops the oldest events beyond the retention count; numbering goes on", async () => {
    emulator = await startTestEmulator({ retentionEvents: 3 });
    const hub = freshHub(emulator, 1);
    const producer = closer.add(
      new EventHubProducerClient(emulator.connectionString(), hub, { retryOptions: FAST_RETRY }),
    );
    await producer.sendBatch(
      Array.from({ length: 10 }, (_, i) => ({ body: i })),
      { partitionId: "0" },
    );
    const props = await waitFor(
      async () => {
        const p = await producer.getPartitionProperties("0");
        return p.beginningSequenceNumber === 7 ? p : undefined;
      },
      { what: "retention to drop events 0-6" },
    );
    expect(props.lastEnqueuedSequenceNumber).toBe(9);
    expect(props.isEmpty).toBe(false);
  });
});
