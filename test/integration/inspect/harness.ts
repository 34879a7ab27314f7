/**
 * Helpers of the inspection tests: running `ehw` as a child process against the global setup's
 * emulator and Azurite, a real consumer (EventHubConsumerClient + BlobCheckpointStore) that
 * checkpoints chosen events, and sending events to chosen partitions.
 */
import { spawn } from "node:child_process";
import {
  EventHubConsumerClient as ConsumerClient,
  type EventHubConsumerClient,
  EventHubProducerClient,
  earliestEventPosition,
  type RetryOptions,
  type Subscription,
} from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import type { ContainerClient } from "@azure/storage-blob";
import { ehwCommand } from "../../../src/local/cli-command.js";

/** SDK retries for test clients (the SDK's default delay is 30 s). */
export const FAST_RETRY: RetryOptions = { retryDelayInMs: 200, maxRetries: 3, timeoutInMs: 10_000 };

/** What a finished `ehw` child printed and returned. */
export interface EhwRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `ehw ...args` with `env` on top of an environment without any `EHW_*` variable; kills the
 * child by PID if it outlives `timeoutMs`.
 */
export function runEhw(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<EhwRun> {
  const { command, args: fullArgs } = ehwCommand(args);
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("EHW_")));
  const child = spawn(command, fullArgs, { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      reject(new Error(`ehw ${args.join(" ")} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Sends `count` events to one partition. */
export async function sendTo(
  connectionString: string,
  hubName: string,
  partitionId: string,
  count: number,
): Promise<void> {
  const producer = new EventHubProducerClient(connectionString, hubName, { retryOptions: FAST_RETRY });
  try {
    const batch = await producer.createBatch({ partitionId });
    for (let i = 0; i < count; i += 1) {
      if (!batch.tryAdd({ body: { partitionId, i } })) throw new Error("batch full");
    }
    await producer.sendBatch(batch);
  } finally {
    await producer.close();
  }
}

/** A running consumer with a checkpoint store, and what it received. */
export interface TestConsumer {
  readonly client: EventHubConsumerClient;
  readonly subscription: Subscription;
  /** Sequence numbers received per partition, in order. */
  readonly received: Map<string, number[]>;
  /** Stops the subscription and closes the client (which relinquishes ownership). */
  close(): Promise<void>;
}

/** Options of {@link startConsumer}. */
export interface TestConsumerOptions {
  connectionString: string;
  hubName: string;
  containerClient: ContainerClient;
  /** Owner id written to the ownership records. */
  ownerId: string;
  /** Per partition, the sequence number of the event to checkpoint when it arrives. */
  checkpointAt?: Record<string, number>;
}

/**
 * Starts a greedy consumer with BlobCheckpointStore, as a worker would; it starts from the
 * checkpoint where there is one, else from the earliest event.
 */
export function startConsumer(options: TestConsumerOptions): TestConsumer {
  const store = new BlobCheckpointStore(options.containerClient);
  const client = new ConsumerClient("$Default", options.connectionString, options.hubName, store, {
    identifier: options.ownerId,
    retryOptions: FAST_RETRY,
    loadBalancingOptions: {
      strategy: "greedy",
      updateIntervalInMs: 500,
      partitionOwnershipExpirationIntervalInMs: 60_000,
    },
  });
  const received = new Map<string, number[]>();
  const subscription = client.subscribe(
    {
      processEvents: async (events, context) => {
        const list = received.get(context.partitionId) ?? [];
        received.set(context.partitionId, list);
        for (const event of events) {
          list.push(event.sequenceNumber);
          if (options.checkpointAt?.[context.partitionId] === event.sequenceNumber) {
            await context.updateCheckpoint(event);
          }
        }
      },
      processError: async () => {},
    },
    { startPosition: earliestEventPosition, maxBatchSize: 50, maxWaitTimeInSeconds: 1 },
  );
  return {
    client,
    subscription,
    received,
    close: async () => {
      await subscription.close();
      await client.close();
    },
  };
}
