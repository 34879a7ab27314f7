/**
 * The processes a worker benchmark runs against: Azurite and the emulator, each its own process
 * on loopback (so the emulator does not share the benchmark's event loop), a hub with one
 * consumer group per scenario, a pre-sent backlog, and blob containers per scenario.
 */
import { BlobServiceClient } from "@azure/storage-blob";
import { type LocalStack, startLocalStack } from "../../src/local/index.js";
import { createProducerClient } from "../../src/producer/client.js";
import { type SendSummary, sendEvents } from "../../src/producer/send-loop.js";
import { note } from "./report.js";

/** Options of {@link startBenchStack}. */
export interface BenchStackOptions {
  /** Hub name; default "bench". */
  hub?: string;
  /** Partitions of the hub; default 4. */
  partitionCount?: number;
  /** Consumer groups besides `$Default`, one per scenario. */
  consumerGroups: string[];
}

/** A running stack for one benchmark. */
export interface BenchStack {
  readonly local: LocalStack;
  readonly hub: string;
  readonly partitionCount: number;
  /** Namespace connection string of the emulator (no EntityPath). */
  readonly eventHubsConnectionString: string;
  /** Storage connection string of Azurite. */
  readonly storageConnectionString: string;
  /** Creates (and returns the name of) an empty blob container. */
  container(name: string): Promise<string>;
  /** Stops the emulator and Azurite by PID. */
  stop(): Promise<void>;
}

/** Starts Azurite and the emulator (separate processes) with the hub and its consumer groups. */
export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const hub = options.hub ?? "bench";
  const partitionCount = options.partitionCount ?? 4;
  const local = await startLocalStack({
    hubs: [{ name: hub, partitionCount, consumerGroups: options.consumerGroups }],
  });
  note(
    `emulator pid ${local.emulator.pid} (amqp ${local.emulator.amqpPort}), azurite pid ${local.azurite.pid}`,
  );
  const storage = BlobServiceClient.fromConnectionString(local.azurite.connectionString);
  return {
    local,
    hub,
    partitionCount,
    eventHubsConnectionString: local.emulator.connectionString,
    storageConnectionString: local.azurite.connectionString,
    container: async (name) => {
      await storage.getContainerClient(name).createIfNotExists();
      return name;
    },
    stop: () => local.stop(),
  };
}

/** Result of {@link fillBacklog}. */
export interface BacklogResult {
  events: number;
  seconds: number;
  eventsPerSecond: number;
}

/**
 * Pre-sends `events` events of `bodySizeBytes` bytes spread evenly over the hub's partitions
 * (the `ehw send` loop, one partition lane per partition), ids 0 … events-1.
 */
export async function fillBacklog(
  stack: BenchStack,
  events: number,
  bodySizeBytes: number,
): Promise<BacklogResult> {
  const client = createProducerClient({ connectionString: stack.eventHubsConnectionString, hub: stack.hub });
  const started = performance.now();
  try {
    const per = Math.floor(events / stack.partitionCount);
    const runs: Promise<SendSummary>[] = [];
    for (let p = 0; p < stack.partitionCount; p++) {
      const count = p === stack.partitionCount - 1 ? events - per * p : per;
      runs.push(
        sendEvents(client, {
          count,
          ratePerSecond: undefined,
          bodySizeBytes,
          routing: { kind: "partition", partitionId: String(p) },
          idStart: per * p,
          type: "bench",
          concurrency: 2,
        }),
      );
    }
    const summaries = await Promise.all(runs);
    const sent = summaries.reduce((sum, s) => sum + s.sent, 0);
    const seconds = (performance.now() - started) / 1000;
    return { events: sent, seconds, eventsPerSecond: sent / seconds };
  } finally {
    await client.close();
  }
}
