import { createServer, type Server } from "node:net";
import { EventHubConsumerClient, EventHubProducerClient } from "@azure/event-hubs";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessError } from "../../../src/common/errors.js";
import { ehwCommand } from "../../../src/local/cli-command.js";
import { type EmulatorProcess, startEmulatorProcess } from "../../../src/local/emulator-process.js";
import { httpStatus } from "../../../src/local/http-probe.js";
import { freePort } from "../../../src/local/ports.js";
import { probeError, processExists } from "../../helpers/processes.js";
import { freshHub, testStack } from "../../helpers/stack.js";

const running: EmulatorProcess[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const emulator of running.splice(0)) await emulator.stop();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function occupy(): Promise<number> {
  const port = await freePort();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  servers.push(server);
  return port;
}

describe("startEmulatorProcess (ehw hub)", () => {
  it("answers /health and the SDK, restarts on the same ports, and stop() leaves no process", async () => {
    const emulator = await startEmulatorProcess({ hubs: [{ name: "orders", partitionCount: 2 }] });
    running.push(emulator);
    expect(processExists(emulator.pid)).toBe(true);
    expect(await httpStatus(`${emulator.adminUrl}/health`)).toBe(200);
    expect(emulator.connectionString).toContain(`sb://127.0.0.1:${emulator.amqpPort}`);

    const client = new EventHubProducerClient(emulator.connectionString, "orders");
    try {
      expect(await client.getPartitionIds()).toEqual(["0", "1"]);
    } finally {
      await client.close();
    }

    const { pid, amqpPort, adminPort, connectionString } = emulator;
    await emulator.restart();
    expect(probeError(pid)?.code).toBe("ESRCH");
    expect([emulator.amqpPort, emulator.adminPort]).toEqual([amqpPort, adminPort]);
    expect(emulator.connectionString).toBe(connectionString);
    expect(await httpStatus(`${emulator.adminUrl}/health`)).toBe(200);

    await emulator.stop();
    expect(probeError(emulator.pid)?.code).toBe("ESRCH");
  });

  it("rejects a bad flag with a ProcessError quoting the command and output, leaving no process", async () => {
    const err = await startEmulatorProcess({
      command: (args) => ehwCommand([...args, "--no-such-flag"]),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessError);
    const message = (err as Error).message;
    expect(message).toMatch(/emulator exited with code \d+ before it was ready/);
    expect(message).toContain("command: ");
    expect(message).toContain(" hub --json ");
    expect(message).toContain("--no-such-flag");
    const pid = (err as ProcessError).context.pid;
    expect(processExists(pid as number)).toBe(false);
  });

  it("rejects a taken AMQP or admin port before starting anything", async () => {
    const port = await occupy();
    const amqpErr = await startEmulatorProcess({ port }).catch((e: unknown) => e);
    expect(amqpErr).toBeInstanceOf(ProcessError);
    expect((amqpErr as Error).message).toContain(`port ${port} on 127.0.0.1 is already in use`);
    const adminErr = await startEmulatorProcess({ adminPort: port }).catch((e: unknown) => e);
    expect(adminErr).toBeInstanceOf(ProcessError);
    expect((adminErr as Error).message).toContain("(admin)");
  });
});

describe("global setup emulator", () => {
  it("is running and creates fresh hubs the SDK can see", async () => {
    const { emulator } = testStack();
    expect(processExists(emulator.pid)).toBe(true);
    const a = await freshHub(3);
    const b = await freshHub(1, ["audit"]);
    expect(a.hubName).not.toBe(b.hubName);
    const client = new EventHubConsumerClient("audit", b.connectionString, b.hubName);
    const other = new EventHubConsumerClient("$Default", a.connectionString, a.hubName);
    try {
      expect(await other.getPartitionIds()).toEqual(["0", "1", "2"]);
      expect(await client.getPartitionIds()).toEqual(["0"]);
    } finally {
      await Promise.all([client.close(), other.close()]);
    }
  });
});
