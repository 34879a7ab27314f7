import { existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessError } from "../../../src/common/errors.js";
import { type AzuriteProcess, startAzurite } from "../../../src/local/azurite.js";
import { freePort } from "../../../src/local/ports.js";
import { probeError, processExists } from "../../helpers/processes.js";
import { freshContainer, testStack, uniqueName } from "../../helpers/stack.js";

const running: AzuriteProcess[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const azurite of running.splice(0)) await azurite.stop();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function start(): Promise<AzuriteProcess> {
  const azurite = await startAzurite();
  running.push(azurite);
  return azurite;
}

async function readText(azurite: AzuriteProcess, container: string, blob: string): Promise<string> {
  const client = BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient(container)
    .getBlockBlobClient(blob);
  return (await client.downloadToBuffer()).toString("utf8");
}

describe("startAzurite", () => {
  it("serves blobs, and stop() leaves no process and no temporary data", async () => {
    const azurite = await start();
    expect(azurite.blobEndpoint).toBe(`http://127.0.0.1:${azurite.port}/devstoreaccount1`);
    expect(azurite.connectionString).toContain(`BlobEndpoint=${azurite.blobEndpoint};`);
    expect(processExists(azurite.pid)).toBe(true);

    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      "roundtrip",
    );
    await container.create();
    await container.getBlockBlobClient("b").upload("hello", 5);
    expect(await readText(azurite, "roundtrip", "b")).toBe("hello");

    await azurite.stop();
    running.length = 0;
    expect(probeError(azurite.pid)?.code).toBe("ESRCH");
    expect(existsSync(azurite.dataDir)).toBe(false);
  });

  it("restart() keeps the port and the blobs; kill() then restart() as after a crash", async () => {
    const azurite = await start();
    const firstPid = azurite.pid;
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      "keep",
    );
    await container.create();
    await container.getBlockBlobClient("b").upload("kept", 4);

    await azurite.restart();
    expect(azurite.pid).not.toBe(firstPid);
    expect(probeError(firstPid)?.code).toBe("ESRCH");
    expect(await readText(azurite, "keep", "b")).toBe("kept");

    const secondPid = azurite.pid;
    await azurite.kill();
    expect(probeError(secondPid)?.code).toBe("ESRCH");
    expect(existsSync(azurite.dataDir)).toBe(true);
    await azurite.restart();
    expect(await readText(azurite, "keep", "b")).toBe("kept");
  });

  it("rejects a taken port with a ProcessError and starts nothing", async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    servers.push(server);
    const err = await startAzurite({ port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessError);
    expect((err as Error).message).toContain(`port ${port} on 127.0.0.1 is already in use`);
  });
});

describe("global setup Azurite", () => {
  it("is running and gives each test its own container", async () => {
    const { azurite } = testStack();
    expect(processExists(azurite.pid)).toBe(true);
    const a = await freshContainer();
    const b = await freshContainer();
    expect(a.containerName).not.toBe(b.containerName);
    expect(a.containerName).toMatch(/^[a-z0-9](?:[a-z0-9]|-(?!-)){2,62}$/);
    const blob = a.containerClient.getBlockBlobClient(uniqueName("blob"));
    await blob.upload("x", 1);
    expect((await blob.downloadToBuffer()).toString()).toBe("x");
    expect(await b.containerClient.exists()).toBe(true);
  });
});
