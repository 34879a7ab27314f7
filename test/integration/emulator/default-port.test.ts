/**
 * On the standard port the emulator's connection string names no port (issue 18): the SDK must
 * still reach it there. Runs only where 5672 is free on this machine.
 */
import { createServer } from "node:net";
import { EventHubProducerClient } from "@azure/event-hubs";
import { afterEach, describe, expect, it } from "vitest";
import type { EmulatorServer } from "../../../src/emulator/index.js";
import { FAST_RETRY, startTestEmulator } from "./harness.js";

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

describe("emulator on the standard AMQP port", () => {
  let emulator: EmulatorServer | undefined;
  let producer: EventHubProducerClient | undefined;
  afterEach(async () => {
    await producer?.close();
    await emulator?.close();
  });

  it("prints a connection string without a port that the SDK connects with", async (ctx) => {
    if (!(await portIsFree(5672))) ctx.skip("port 5672 is in use on this machine");
    emulator = await startTestEmulator({
      amqpPort: 5672,
      hubs: [{ name: "std-port", partitionCount: 2 }],
    });
    const connectionString = emulator.connectionString();
    expect(connectionString).toMatch(/^Endpoint=sb:\/\/127\.0\.0\.1;/);
    producer = new EventHubProducerClient(connectionString, "std-port", { retryOptions: FAST_RETRY });
    expect((await producer.getEventHubProperties()).partitionIds).toEqual(["0", "1"]);
  });
});
