/**
 * Shared pieces of the dead-letter integration tests: an in-process worker over the shared
 * emulator and Azurite with a test-defined handler, the policy failure handler over a real
 * dead-letter container (optionally failing its writes on demand), and readers of checkpoints
 * and dead-letter blobs.
 */
import { type Checkpoint, EventHubProducerClient, type ReceivedEventData } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { createWorker } from "../../../src/app/worker-app.js";
import type { CompiledPipelineSpec } from "../../../src/config/handlers.js";
import type { DeadLetterDocument } from "../../../src/deadletter/document.js";
import { type PolicyFailureHandler, policyFailureHandler } from "../../../src/deadletter/failure-handler.js";
import { withPoisonChecks } from "../../../src/deadletter/poison.js";
import { DeadLetterStore } from "../../../src/deadletter/store.js";
import type { EventHandler } from "../../../src/handlers/contract.js";
import { createPipeline } from "../../../src/handlers/pipeline.js";
import { type HandlerRegistry, routeEvent } from "../../../src/handlers/registry.js";
import { silentLogger } from "../../../src/observability/logger.js";
import type { Worker } from "../../../src/worker/worker.js";
import { testStack, uniqueName } from "../../helpers/stack.js";
import { stackWorkerConfig } from "../worker/support.js";

/** Quick load balancing, retries and checkpoints (every event) for the dead-letter tests. */
export const QUICK_TIMING = {
  updateIntervalMs: "1000",
  ownershipExpirationMs: "4000",
  strategy: "greedy",
  retryDelayMs: "200",
  maxWaitTimeMs: "100",
  checkpointEvery: "1",
  checkpointIntervalMs: "200",
  maxAttempts: "2",
  retryBaseDelayMs: "10",
  retryMaxDelayMs: "20",
} as const;

/** A compiled worker config for a test hub and container, with quick timing and checkpoints every event. */
export function workerConfig(hubName: string, containerName: string, extra: Record<string, string> = {}) {
  return stackWorkerConfig(hubName, containerName, {
    ...QUICK_TIMING,
    ordering: "none",
    concurrency: "4",
    ...extra,
  });
}

/** A container client on the shared Azurite (the container is not created). */
export function containerOf(name: string): ContainerClient {
  return BlobServiceClient.fromConnectionString(testStack().azurite.connectionString).getContainerClient(
    name,
  );
}

/** A dead-letter store whose writes can be made to fail while `blocked` is true. */
export class BlockableStore extends DeadLetterStore {
  blocked = false;
  failedWrites = 0;

  override async write(doc: DeadLetterDocument, signal?: AbortSignal): Promise<string> {
    if (this.blocked) {
      this.failedWrites += 1;
      throw new Error("dead-letter storage blocked by the test");
    }
    return super.write(doc, signal);
  }
}

/** A registry of one pipeline per spec, all running `handler`, routed by the `route` property. */
export function registryOf(pipelines: CompiledPipelineSpec[], handler: EventHandler): HandlerRegistry {
  const built = new Map(pipelines.map((p) => [p.name, createPipeline(p.name, [{ name: "h", handler }])]));
  const first = pipelines[0]?.name ?? "default";
  const routes = {
    property: "route",
    map: Object.fromEntries(pipelines.map((p) => [p.name, p.name])),
    defaultPipeline: first,
  };
  const registry: HandlerRegistry = {
    pipelines: built,
    defaultPipeline: built.get(first) as HandlerRegistry["defaultPipeline"],
    route: (event) => built.get(routeEvent(routes, event.properties)) ?? registry.defaultPipeline,
    close: async () => {},
  };
  return withPoisonChecks(registry, { handlers: [], pipelines, routes });
}

/** An in-process worker with the policy failure handler over a real dead-letter container. */
export async function startDeadLetterWorker(options: {
  hubName: string;
  containerName: string;
  pipelines: CompiledPipelineSpec[];
  handler: EventHandler;
  extra?: Record<string, string>;
}): Promise<{
  worker: Worker;
  store: BlockableStore;
  failures: PolicyFailureHandler;
  deadLetterContainer: string;
}> {
  const deadLetterContainer = uniqueName("dl");
  const store = new BlockableStore(containerOf(deadLetterContainer), {
    eventHubName: options.hubName,
    consumerGroup: "$Default",
  });
  await store.prepare(true);
  const failures = policyFailureHandler({
    pipelines: options.pipelines,
    writer: store,
    eventHubName: options.hubName,
    consumerGroup: "$Default",
    logger: silentLogger(),
    writeAttempts: 1_000,
    writeBaseDelayMs: 20,
    writeMaxDelayMs: 50,
  });
  const worker = createWorker(workerConfig(options.hubName, options.containerName, options.extra), {
    logger: silentLogger(),
    registry: registryOf(options.pipelines, options.handler),
    failureHandler: failures,
  });
  await worker.start();
  return { worker, store, failures, deadLetterContainer };
}

/** Sends events to partition 0, in order. */
export async function sendToPartition0(
  hubName: string,
  events: Array<{ body: unknown; properties?: Record<string, unknown>; partitionKey?: string }>,
): Promise<void> {
  const producer = new EventHubProducerClient(testStack().emulator.connectionString, hubName);
  try {
    for (const event of events) {
      await producer.sendBatch([{ body: event.body, properties: event.properties }], {
        ...(event.partitionKey ? { partitionKey: event.partitionKey } : { partitionId: "0" }),
      });
    }
  } finally {
    await producer.close();
  }
}

/** The checkpoint of partition 0 of the emulator namespace, hub and `$Default`. */
export async function checkpointOf(
  containerClient: ContainerClient,
  hubName: string,
): Promise<Checkpoint | undefined> {
  const list = await new BlobCheckpointStore(containerClient).listCheckpoints(
    "127.0.0.1",
    hubName,
    "$Default",
  );
  return list.find((c) => c.partitionId === "0");
}

/** Every dead-letter document in a container, by blob name, with its last-modified time. */
export async function documentsIn(
  containerName: string,
): Promise<Array<{ name: string; doc: DeadLetterDocument; lastModified: Date }>> {
  const container = containerOf(containerName);
  if (!(await container.exists())) return [];
  const out: Array<{ name: string; doc: DeadLetterDocument; lastModified: Date }> = [];
  for await (const blob of container.listBlobsFlat()) {
    const text = (await container.getBlockBlobClient(blob.name).downloadToBuffer()).toString("utf8");
    out.push({
      name: blob.name,
      doc: JSON.parse(text) as DeadLetterDocument,
      lastModified: blob.properties.lastModified,
    });
  }
  return out;
}

/** `body.n` of an event sent by these tests. */
export function nOf(event: ReceivedEventData): number | undefined {
  const body = event.body as { n?: unknown } | undefined;
  return typeof body?.n === "number" ? body.n : undefined;
}
