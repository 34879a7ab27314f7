import { createServer, type Socket } from "node:net";
import { BlobServiceClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { spawnChild } from "../../../src/local/child.js";
import { ehwCommand } from "../../../src/local/cli-command.js";
import { freshHub, testStack, uniqueName } from "../../helpers/stack.js";
import { FAST_TIMING, runWorkerToEnd, workerEnv } from "./support.js";

async function containerExists(name: string): Promise<boolean> {
  return BlobServiceClient.fromConnectionString(testStack().azurite.connectionString)
    .getContainerClient(name)
    .exists();
}

/** A worker env on a real hub and a container that does not exist yet (the worker would create it). */
async function env(extra: Record<string, string> = {}) {
  const { hubName } = await freshHub(1);
  const containerName = uniqueName("never");
  const { emulator, azurite } = testStack();
  return {
    containerName,
    env: workerEnv({
      EHW_EVENTHUB_CONNECTION_STRING: emulator.connectionString,
      EHW_EVENTHUB_NAME: hubName,
      EHW_STORAGE_CONNECTION_STRING: azurite.connectionString,
      EHW_CONTAINER_NAME: containerName,
      ...FAST_TIMING,
      ...extra,
    }),
  };
}

/** A loopback TCP listener that accepts and never answers, counting the connections it got. */
async function silentListener(): Promise<{
  port: number;
  sockets: Set<Socket>;
  accepted: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    sockets,
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A hub connection string for the listener, so that any attempt to connect to the hub shows. */
function hubAt(port: number): string {
  return `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=c2VjcmV0;UseDevelopmentEmulator=true`;
}

describe("ehw run with a bad config", () => {
  it("exits 2 with the setting and its value on stderr before connecting", async () => {
    const hub = await silentListener();
    try {
      const { env: e, containerName } = await env({ EHW_EVENTHUB_CONNECTION_STRING: hubAt(hub.port) });
      const result = await runWorkerToEnd(["--concurrency", "lots"], e);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("--concurrency");
      expect(result.stderr).toContain("lots");
      expect(result.stderr).not.toContain(testStack().azurite.connectionString);
      expect(hub.accepted()).toBe(0);
      expect(await containerExists(containerName)).toBe(false);
    } finally {
      await hub.close();
    }
  });

  it("exits non-zero naming a missing handler module, without touching the hub or storage", async () => {
    const hub = await silentListener();
    try {
      const { env: e, containerName } = await env({
        EHW_HANDLER: "./does-not-exist/handler.mjs",
        EHW_EVENTHUB_CONNECTION_STRING: hubAt(hub.port),
      });
      const result = await runWorkerToEnd([], e);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("does-not-exist/handler.mjs");
      expect(result.stderr).not.toMatch(/cannot reach/);
      expect(hub.accepted()).toBe(0);
      expect(await containerExists(containerName)).toBe(false);
    } finally {
      await hub.close();
    }
  });

  it("exits 1 naming the storage host when storage is unreachable", async () => {
    const { env: e } = await env({
      EHW_STORAGE_CONNECTION_STRING:
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1",
    });
    const result = await runWorkerToEnd([], e);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("cannot reach blob storage at 127.0.0.1:1");
    expect(result.stderr).not.toContain("c2VjcmV0");
  });

  it("stops at once on SIGTERM while start-up waits on a storage endpoint that never answers", async () => {
    const silent = await silentListener();
    try {
      const { env: e } = await env({
        EHW_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;BlobEndpoint=http://127.0.0.1:${silent.port}/devstoreaccount1`,
      });
      const { command, args } = ehwCommand(["run"]);
      const child = await spawnChild({ name: "ehw-run", command, args, env: e });
      try {
        // The worker is inside its start once a connection to the silent endpoint is open.
        await child.waitUntilReady({
          probe: async () => silent.sockets.size > 0,
          what: "a storage connection",
        });
        const signalled = Date.now();
        child.signal("SIGTERM");
        const exit = await child.exited;
        expect(Date.now() - signalled).toBeLessThan(5_000);
        expect(exit.code).toBe(0);
      } finally {
        await child.stop({ timeoutMs: 1000 });
      }
    } finally {
      await silent.close();
    }
  });

  it("prints the options on --help and exits 0", async () => {
    const result = await runWorkerToEnd(["--help"], workerEnv({}));
    expect(result.code).toBe(0);
  });
});
