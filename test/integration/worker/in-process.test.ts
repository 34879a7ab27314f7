import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createWorker } from "../../../src/app/worker-app.js";
import { checkpointBlobPrefixes } from "../../../src/checkpoint/blob-store.js";
import { ConfigError, ConnectionError } from "../../../src/common/errors.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { freshContainer, freshHub, testStack, uniqueName } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import {
  checkpointsOf,
  ownersOf,
  readLedger,
  sendToPartitions,
  stackWorkerConfig,
  tempDir,
} from "./support.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function config(hubName: string, containerName: string, extra: Record<string, string> = {}) {
  return stackWorkerConfig(hubName, containerName, {
    retryDelayMs: "200",
    checkpointEvery: "7",
    checkpointIntervalMs: "500",
    ...extra,
  });
}

describe("Worker (in process)", () => {
  it("processes every event, checkpoints each partition at its last event and gives up ownership on stop", async () => {
    const { hubName } = await freshHub(4);
    const { containerName, containerClient } = await freshContainer();
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const ledger = join(dir, "ledger.jsonl");
    const settings = { handler: "ledger", ledgerFile: ledger };
    const worker = createWorker(config(hubName, containerName, settings), {
      logger: silentLogger(),
    });
    cleanups.push(() => worker.stop({ deadlineMs: 2000 }));
    await worker.start();
    expect(worker.state).toBe("running");
    await sendToPartitions(hubName, ["0", "1", "2", "3"], 25);
    await waitFor(async () => (await readLedger(ledger)).length >= 100, {
      timeoutMs: 30_000,
      what: "100 ledger lines",
    });
    await waitFor(() => worker.status().partitions.length === 4, { what: "4 partitions" });

    const result = await worker.stop();
    expect(result.drained).toBe(true);
    expect(worker.state).toBe("stopped");
    const entries = await readLedger(ledger);
    expect(new Set(entries.map((e) => e.id)).size).toBe(100);
    expect(entries).toHaveLength(100);
    const checkpoints = await checkpointsOf(containerClient, hubName);
    for (const p of ["0", "1", "2", "3"]) {
      const last = Math.max(...entries.filter((e) => e.p === p).map((e) => e.s));
      expect(checkpoints.get(p)?.sequenceNumber).toBe(last);
    }
    const owners = await ownersOf(containerClient, hubName);
    expect([...owners.values()].every((o) => o === "")).toBe(true);

    // The prefixes inspection tools use match the blobs BlobCheckpointStore wrote.
    const prefixes = checkpointBlobPrefixes({
      fullyQualifiedNamespace: worker.config.eventHubs.endpointHost,
      eventHubName: hubName,
      consumerGroup: "$Default",
    });
    const names: string[] = [];
    for await (const blob of containerClient.listBlobsFlat()) names.push(blob.name);
    expect(names.sort()).toEqual(
      ["0", "1", "2", "3"].flatMap((p) => [`${prefixes.checkpoint}${p}`, `${prefixes.ownership}${p}`]).sort(),
    );
    expect(prefixes.root).toBe(`127.0.0.1/${hubName.toLowerCase()}/$default/`);
  });

  it("fails fast with a ConfigError naming the hub when it does not exist", async () => {
    const { containerName } = await freshContainer();
    const worker = createWorker(config(uniqueName("nohub"), containerName), { logger: silentLogger() });
    const error = await worker.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/was not found at 127\.0\.0\.1/);
    expect(worker.state).toBe("failed");
  });

  it("fails fast with a ConnectionError naming the storage host when storage is unreachable", async () => {
    const { hubName } = await freshHub(1);
    const base = config(hubName, "unreachable");
    const bad = {
      ...base,
      storage: {
        ...base.storage,
        connectionString:
          "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1",
      },
    };
    const worker = createWorker(bad, { logger: silentLogger() });
    const started = Date.now();
    const error = await worker.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain("127.0.0.1:1");
    expect((error as Error).message).not.toContain("a2V5");
    expect(Date.now() - started).toBeLessThan(30_000);
  });
  it("fails with a ConfigError when the container is missing and may not be created", async () => {
    const { hubName } = await freshHub(1);
    const name = uniqueName("absent");
    const worker = createWorker(config(hubName, name, { createContainer: "false" }), {
      logger: silentLogger(),
    });
    const error = await worker.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`"${name}" does not exist`);
  });

  it("fails with a ConnectionError when the hub refuses the key, without echoing it", async () => {
    const { hubName } = await freshHub(1);
    const { containerName } = await freshContainer();
    const base = config(hubName, containerName);
    const { emulator } = testStack();
    const wrongKey = "d3Jvbmcta2V5LXZhbHVl";
    const connectionString = emulator.connectionString.replace(emulator.key, wrongKey);
    expect(connectionString).not.toBe(emulator.connectionString);
    const worker = createWorker(
      { ...base, eventHubs: { ...base.eventHubs, connectionString } },
      { logger: silentLogger(), probeTimeoutMs: 20_000 },
    );
    const error = await worker.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain("refused the credentials");
    expect((error as Error).message).not.toContain(wrongKey);
  });
});
