import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventHubProducerClient } from "@azure/event-hubs";
import { afterEach, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../../src/local/index.js";
import { probeError, processExists } from "../../helpers/processes.js";

const stacks: LocalStack[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const stack of stacks.splice(0)) await stack.stop();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function partitionIds(connectionString: string, hub: string): Promise<string[]> {
  const client = new EventHubProducerClient(connectionString, hub);
  try {
    return await client.getPartitionIds();
  } finally {
    await client.close();
  }
}

describe("startLocalStack", () => {
  it("runs both under one data directory, keeps state across restarts, and stops both", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "ehw-stack-test-"));
    dirs.push(dataDir);
    const stack = await startLocalStack({ dataDir, hubs: [{ name: "orders", partitionCount: 2 }] });
    stacks.push(stack);
    const { azurite, emulator } = stack;
    expect(azurite.dataDir).toBe(join(dataDir, "azurite"));
    expect(emulator.dataDir).toBe(join(dataDir, "emulator"));
    expect(processExists(azurite.pid) && processExists(emulator.pid)).toBe(true);

    await emulator.createHub({ name: "late", partitionCount: 3 });
    expect(await partitionIds(emulator.connectionString, "late")).toEqual(["0", "1", "2"]);
    await emulator.restart();
    expect(await partitionIds(emulator.connectionString, "late")).toEqual(["0", "1", "2"]);
    expect(await partitionIds(emulator.connectionString, "orders")).toEqual(["0", "1"]);

    const pids = [azurite.pid, emulator.pid];
    stacks.length = 0;
    await stack.stop();
    for (const pid of pids) expect(probeError(pid)?.code).toBe("ESRCH");
    // A data directory we were given is the caller's: stop() leaves it.
    expect(existsSync(join(dataDir, "azurite"))).toBe(true);
  });
});
