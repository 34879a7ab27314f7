/**
 * Storage calls against an endpoint that accepts TCP connections and never answers (a wrong
 * BlobEndpoint port, a proxy holding connections open): each must fail by its client-side
 * deadline with an error naming the endpoint, or stop at once when the caller's signal fires.
 * Without the deadline every one of these calls waits forever.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createBlobCheckpointStore,
  createContainerClient,
  prepareCheckpointContainer,
} from "../../../src/checkpoint/blob-store.js";
import { StorageTimeoutError } from "../../../src/checkpoint/deadline.js";
import { isAbortError } from "../../../src/common/retry.js";
import type { StorageConfig } from "../../../src/config/worker.js";
import { DeadLetterStore } from "../../../src/deadletter/store.js";
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from "../../../src/local/azurite.js";
import { createLogger } from "../../../src/observability/logger.js";

const TIMEOUT_MS = 600;
let server: Server;
const sockets = new Set<Socket>();
let storage: StorageConfig;
let host: string;

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  host = `127.0.0.1:${address.port}`;
  storage = {
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};` +
      `BlobEndpoint=http://${host}/${AZURITE_ACCOUNT_NAME};`,
    accountUrl: undefined,
    containerName: "silent",
    createContainer: true,
  };
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** How a promise settled and how long it took. */
async function settle(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await promise;
    return { error: undefined, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

describe("storage calls against a silent endpoint", () => {
  const logger = createLogger({ level: "silent" });

  it("preparing the checkpoint container fails by its deadline, naming the endpoint", async () => {
    const client = createContainerClient(storage);
    const { error, ms } = await settle(
      prepareCheckpointContainer(client, storage, logger, { timeoutMs: TIMEOUT_MS }),
    );
    expect(error).toBeInstanceOf(StorageTimeoutError);
    expect((error as Error).message).toContain(host);
    expect((error as Error).message).toContain("BlobEndpoint");
    expect(ms).toBeLessThan(TIMEOUT_MS + 5_000);
  });

  it("a signal stops the container check at once, as an abort rather than a timeout", async () => {
    const client = createContainerClient(storage);
    const controller = new AbortController();
    const pending = settle(
      prepareCheckpointContainer(client, storage, logger, { timeoutMs: 60_000, signal: controller.signal }),
    );
    controller.abort();
    const { error, ms } = await pending;
    expect(isAbortError(error)).toBe(true);
    expect(ms).toBeLessThan(5_000);
  });

  it("every checkpoint store call fails by its deadline", async () => {
    const store = createBlobCheckpointStore(createContainerClient(storage), { timeoutMs: TIMEOUT_MS });
    const { error } = await settle(store.listOwnership("ns", "hub", "$default"));
    expect(error).toBeInstanceOf(StorageTimeoutError);
    expect((error as Error).message).toContain("list ownership records");
    const claim = await settle(
      store.claimOwnership([
        {
          fullyQualifiedNamespace: "ns",
          eventHubName: "hub",
          consumerGroup: "$default",
          partitionId: "0",
          ownerId: "w",
        },
      ]),
    );
    expect(claim.error).toBeInstanceOf(StorageTimeoutError);
  });

  it("the dead-letter store's container check fails by its deadline", async () => {
    const store = new DeadLetterStore(createContainerClient({ ...storage, containerName: "silent-dl" }), {
      eventHubName: "hub",
      consumerGroup: "$default",
      deadline: { timeoutMs: TIMEOUT_MS },
    });
    const { error } = await settle(store.prepare(true));
    expect(error).toBeInstanceOf(StorageTimeoutError);
    expect((error as Error).message).toContain(host);
  });

  it("the dead-letter listing fails by its deadline", async () => {
    const store = new DeadLetterStore(createContainerClient({ ...storage, containerName: "silent-dl" }), {
      eventHubName: "hub",
      consumerGroup: "$default",
      deadline: { timeoutMs: TIMEOUT_MS },
    });
    const { error, ms } = await settle(store.list());
    expect(error).toBeInstanceOf(StorageTimeoutError);
    expect((error as Error).message).toContain("list the dead-letter container");
    expect(ms).toBeLessThan(TIMEOUT_MS + 5_000);
  });
});
