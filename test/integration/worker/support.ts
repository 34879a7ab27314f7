/**
 * Shared pieces of the worker integration tests: sending events with the real producer, starting
 * `ehw run` processes with tuned timing, reading ledgers and checkpoints.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Checkpoint, EventHubProducerClient } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import type { ContainerClient } from "@azure/storage-blob";
import { afterEach } from "vitest";
import {
  compileWorkerConfig,
  type RawSetting,
  type RawWorkerOptions,
  type WorkerConfig,
} from "../../../src/config/worker.js";
import { type LedgerEntry, parseLedger } from "../../../src/handlers/builtins/ledger.js";
import { type ManagedChild, spawnChild } from "../../../src/local/child.js";
import { ehwCommand } from "../../../src/local/cli-command.js";
import { freshContainer, freshHub, testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";

/** Timing that makes rebalancing quick: expiry ≥ 3 × interval, short SDK retry delays. */
export const FAST_TIMING: Record<string, string> = {
  EHW_UPDATE_INTERVAL_MS: "1000",
  EHW_OWNERSHIP_EXPIRATION_MS: "4000",
  EHW_RETRY_DELAY_MS: "200",
  EHW_MAX_RETRY_DELAY_MS: "1000",
  EHW_MAX_WAIT_TIME_MS: "200",
  EHW_CHECKPOINT_INTERVAL_MS: "500",
  EHW_CHECKPOINT_EVERY: "10",
  EHW_RETRY_BASE_DELAY_MS: "20",
  EHW_RETRY_MAX_DELAY_MS: "100",
  EHW_DRAIN_TIMEOUT_MS: "10000",
  EHW_LOG_LEVEL: "info",
};

/** A temporary directory removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "ehw-worker-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Sends `perPartition` events to each partition, properties `{ id: "<p>-<n>" }` plus `extra(p, n)`. */
export async function sendToPartitions(
  hubName: string,
  partitionIds: readonly string[],
  perPartition: number,
  extra: (
    partitionId: string,
    n: number,
  ) => { partitionKey?: string; properties?: Record<string, unknown> } = () => ({}),
): Promise<void> {
  const producer = new EventHubProducerClient(testStack().emulator.connectionString, hubName);
  try {
    for (const partitionId of partitionIds) {
      const batch = await producer.createBatch({ partitionId });
      for (let n = 0; n < perPartition; n += 1) {
        const more = extra(partitionId, n);
        const added = batch.tryAdd({
          body: { n },
          properties: { id: `${partitionId}-${n}`, ...more.properties },
        });
        if (!added) throw new Error("test batch too large");
      }
      await producer.sendBatch(batch);
    }
  } finally {
    await producer.close();
  }
}

/** Sends events with partition keys (the hub hashes them to partitions), in order per key. */
export async function sendWithKeys(
  hubName: string,
  events: ReadonlyArray<{ key: string; id: string }>,
): Promise<void> {
  const producer = new EventHubProducerClient(testStack().emulator.connectionString, hubName);
  try {
    for (const event of events) {
      await producer.sendBatch([{ body: event, properties: { id: event.id } }], { partitionKey: event.key });
    }
  } finally {
    await producer.close();
  }
}

/** Ledger entries of a file; none when it does not exist yet. */
export async function readLedger(file: string): Promise<LedgerEntry[]> {
  try {
    return parseLedger(await readFile(file, "utf8"), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** Checkpoints of the emulator namespace (`127.0.0.1`), hub and `$Default`, by partition id. */
export async function checkpointsOf(
  containerClient: ContainerClient,
  hubName: string,
): Promise<Map<string, Checkpoint>> {
  const store = new BlobCheckpointStore(containerClient);
  const list = await store.listCheckpoints("127.0.0.1", hubName, "$Default");
  return new Map(list.map((c) => [c.partitionId, c]));
}

/** Ownership records: partition id → owner id. */
export async function ownersOf(
  containerClient: ContainerClient,
  hubName: string,
): Promise<Map<string, string>> {
  const store = new BlobCheckpointStore(containerClient);
  const list = await store.listOwnership("127.0.0.1", hubName, "$Default");
  return new Map(list.map((o) => [o.partitionId, o.ownerId]));
}

/** The environment of an `ehw run` child: this process's, minus EHW_*, plus the given values. */
export function workerEnv(values: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("EHW_")) env[key] = value;
  return { ...env, ...values };
}

/** Env for a worker on a test hub and checkpoint container of the test stack, with fast timing. */
export function stackWorkerEnv(
  hubName: string,
  containerName: string,
  values: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const { emulator, azurite } = testStack();
  return workerEnv({
    EHW_EVENTHUB_CONNECTION_STRING: emulator.connectionString,
    EHW_EVENTHUB_NAME: hubName,
    EHW_STORAGE_CONNECTION_STRING: azurite.connectionString,
    EHW_CONTAINER_NAME: containerName,
    ...FAST_TIMING,
    ...values,
  });
}

/** Env for a worker on a test hub and container, with fast timing and the ledger handler. */
export function ledgerWorkerEnv(
  hubName: string,
  containerName: string,
  ledgerFile: string,
  overrides: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return stackWorkerEnv(hubName, containerName, {
    EHW_HANDLER: "ledger",
    EHW_LEDGER_FILE: ledgerFile,
    ...overrides,
  });
}

/** A running `ehw run` child and the JSON log lines it printed. */
export interface WorkerProcess {
  child: ManagedChild;
  ownerId: string;
  logs: Array<Record<string, unknown>>;
  /** Partitions currently held according to its claim / release / loss log lines. */
  held(): Set<string>;
}

/** Spawns `ehw run` with the env and args and waits for its "worker running" line. */
export async function startWorker(
  name: string,
  env: NodeJS.ProcessEnv,
  args: string[] = [],
): Promise<WorkerProcess> {
  const { command, args: full } = ehwCommand(["run", ...args]);
  const logs: Array<Record<string, unknown>> = [];
  const child = await spawnChild({
    name,
    command,
    args: full,
    env,
    onLine: (line) => {
      if (line.stream !== "stdout") return;
      try {
        logs.push(JSON.parse(line.text) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    },
  });
  await child.waitUntilReady({
    line: (line) => line.text.includes('"worker running"'),
    timeoutMs: 60_000,
    what: 'the "worker running" log line',
  });
  const ownerId = String(logs.find((l) => typeof l.workerId === "string")?.workerId);
  const held = (): Set<string> => {
    const set = new Set<string>();
    for (const line of logs) {
      const id = typeof line.partitionId === "string" ? line.partitionId : undefined;
      if (id === undefined) continue;
      if (line.msg === "partition claimed") set.add(id);
      if (
        line.msg === "partition released" ||
        line.msg === "partition lost to another worker" ||
        line.msg === "partition handed over"
      )
        set.delete(id);
    }
    return set;
  };
  return { child, ownerId, logs, held };
}

/** Waits until the ledgers together hold `count` distinct ids. */
export async function waitForIds(files: readonly string[], count: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      const ids = new Set<unknown>();
      for (const file of files) for (const entry of await readLedger(file)) ids.add(entry.id);
      return ids.size >= count;
    },
    { timeoutMs, intervalMs: 200, what: `${count} distinct ids in the ledgers` },
  );
}

/** Raw options as if given as flags, for in-process workers. */
export function flagOptions(values: Record<string, unknown>): RawWorkerOptions {
  const raw: Record<string, RawSetting> = {};
  for (const [key, value] of Object.entries(values))
    raw[key] = { value, source: { kind: "flag", name: `--${key}` } };
  return raw as RawWorkerOptions;
}

/**
 * The compiled config of an in-process worker on the test stack's hub and Azurite, with quick load
 * balancing (greedy, 1 s loop, 4 s expiry) and short receive waits; `values` add or override flags.
 */
export function stackWorkerConfig(
  hubName: string,
  containerName: string,
  values: Record<string, unknown> = {},
): WorkerConfig {
  const { emulator, azurite } = testStack();
  return compileWorkerConfig(
    flagOptions({
      eventHubConnectionString: emulator.connectionString,
      eventHubName: hubName,
      storageConnectionString: azurite.connectionString,
      containerName,
      strategy: "greedy",
      updateIntervalMs: "1000",
      ownershipExpirationMs: "4000",
      maxWaitTimeMs: "200",
      ...values,
    }),
    { baseDir: process.cwd() },
  );
}

/** The recording handler fixture: writes one JSON line per handler start and end to `options.file`. */
export const RECORDER = fileURLToPath(new URL("../../fixtures/worker/recorder.mjs", import.meta.url));

/** A fresh hub, checkpoint container and temporary directory for one test. */
export interface WorkerTestResources {
  readonly hubName: string;
  readonly containerName: string;
  readonly containerClient: ContainerClient;
  /** Removed after the test, once its workers have stopped. */
  readonly dir: string;
}

/** What a test file registers with {@link useWorkerTests}. */
export interface WorkerTests {
  /** Worker processes, stopped by PID through their ManagedChild after each test (SIGKILL after 15 s). */
  readonly workers: WorkerProcess[];
  /** Cleanups run after the workers have stopped, e.g. removing temporary directories. */
  readonly cleanups: Array<() => Promise<unknown>>;
  /** A fresh hub of `partitionCount` partitions, container and temporary directory (removed after the test). */
  fresh(partitionCount: number): Promise<WorkerTestResources>;
}

/** Registers an `afterEach` that stops the test's workers, then runs its cleanups. */
export function useWorkerTests(): WorkerTests {
  const workers: WorkerProcess[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.child.stop({ timeoutMs: 15_000 });
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  const fresh = async (partitionCount: number): Promise<WorkerTestResources> => {
    const { hubName } = await freshHub(partitionCount);
    const { containerName, containerClient } = await freshContainer();
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    return { hubName, containerName, containerClient, dir };
  };
  return { workers, cleanups, fresh };
}

/** The JSON lines of `file`; none while it does not exist yet. */
export async function readJsonLines<T>(file: string): Promise<T[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as T);
}

/** Runs `ehw run ...args` to its end; returns the exit code and the stderr text. */
export async function runWorkerToEnd(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stderr: string }> {
  const { command, args: full } = ehwCommand(["run", ...args]);
  const child = await spawnChild({ name: "ehw-run", command, args: full, env });
  const exit = await child.exited;
  // Kills it by PID if it unexpectedly keeps running; a no-op once it exited.
  await child.stop({ timeoutMs: 1000 });
  const stderr = child
    .outputTail()
    .filter((l) => l.stream === "stderr")
    .map((l) => l.text)
    .join("\n");
  return { code: exit.code, stderr };
}
