/**
 * The unmodified Python SDK (Debian's python3-azure: azure-eventhub 5.11 with its pure-Python
 * AMQP, and BlobCheckpointStore) against the emulator and Azurite (issue 18). That SDK always
 * speaks TLS on port 5671 and reads performative fields by position, so this needs the amqps
 * listener and the full-field frames. A producer fills one create_batch() until it is full, then
 * sends keyed events; a consumer with a checkpoint store reads from "-1", checkpointing each event.
 */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorServer } from "../../../src/emulator/index.js";
import { freshContainer, testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import {
  checkpointsOf,
  ledgerWorkerEnv,
  readLedger,
  startWorker,
  tempDir,
  useWorkerTests,
} from "../worker/support.js";
import { FAST_RETRY, freshHub, startTestEmulator } from "./harness.js";

/** Debian's azure-eventhub lives in the system Python, not in a pyenv one first on PATH. */
const SYSTEM_PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("../../fixtures/python/eventhub_roundtrip.py", import.meta.url));
/** azure-eventhub 5.11 connects to this port whatever the connection string says. */
const PYTHON_SDK_TLS_PORT = 5671;
const KEYED_COUNT = 40;

function pythonSdkMissing(): string | undefined {
  const probe = spawnSync(SYSTEM_PYTHON, ["-c", "import azure.eventhub.extensions.checkpointstoreblob"], {
    encoding: "utf8",
  });
  if (probe.error !== undefined) return `${SYSTEM_PYTHON} cannot run (${probe.error.message})`;
  if (probe.status !== 0) return `${SYSTEM_PYTHON} has no azure.eventhub (apt-get install python3-azure)`;
  return undefined;
}

interface Sent {
  id: string;
  partitionKey: string | null;
  partitionId: string | null;
}
interface Received {
  id: string;
  partitionId: string;
  sequenceNumber: number;
  offset: string;
  enqueuedTimeMs: number;
  partitionKey: string | null;
}

interface PythonRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script asynchronously (the emulator serves it from this process). */
async function runPython(args: string[], caFile: string): Promise<PythonRun> {
  const child = spawn(SYSTEM_PYTHON, [SCRIPT, ...args], {
    env: { ...process.env, EHW_TEST_CA_FILE: caFile },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const status = await new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { status, stdout, stderr };
}

/** Runs the script and returns its stdout; throws with its stderr when it fails. */
async function python(args: string[], caFile: string): Promise<string> {
  const { status, stdout, stderr } = await runPython(args, caFile);
  if (status !== 0)
    throw new Error(`eventhub_roundtrip.py ${args[0]} exited ${status}: ${stderr.slice(-2000)}`);
  return stdout;
}

const missing = pythonSdkMissing();

describe.skipIf(missing !== undefined)(
  `the Python SDK against the emulator${missing === undefined ? "" : ` (skipped: ${missing})`}`,
  () => {
    let emulator: EmulatorServer;
    const { workers, cleanups } = useWorkerTests();

    beforeAll(async () => {
      emulator = await startTestEmulator({ tlsPort: PYTHON_SDK_TLS_PORT });
    });
    afterAll(() => emulator?.close());

    it("sends a full batch and keyed events, and a checkpointing consumer reads them all in order", async () => {
      const hub = freshHub(emulator, 2);
      const { containerName, containerClient } = await freshContainer("py");
      const connectionString = emulator.tlsConnectionString() as string;
      const caFile = emulator.caFile as string;
      const startedMs = Date.now();

      const { sent } = JSON.parse(
        await python(["send", connectionString, hub, String(KEYED_COUNT)], caFile),
      ) as {
        sent: Sent[];
      };
      // create_batch() sized from the link's max_message_size (1 MiB) holds ~60 events of 16 KiB.
      const full = sent.filter((s) => s.id.startsWith("full-"));
      expect(full.length).toBeGreaterThan(50);
      expect(full.length).toBeLessThan(64);

      const out = await python(
        [
          "receive",
          connectionString,
          hub,
          testStack().azurite.connectionString,
          containerName,
          String(sent.length),
          "90",
        ],
        caFile,
      );
      const received = out
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Received);
      expect(received.map((r) => r.id).sort()).toEqual(sent.map((s) => s.id).sort());

      const byId = new Map(received.map((r) => [r.id, r]));
      for (const s of sent) {
        const r = byId.get(s.id) as Received;
        expect(r.partitionKey, `partition key of ${s.id}`).toBe(s.partitionKey);
        if (s.partitionId !== null) expect(r.partitionId, `partition of ${s.id}`).toBe(s.partitionId);
        expect(r.enqueuedTimeMs).toBeGreaterThanOrEqual(startedMs - 1000);
        expect(r.enqueuedTimeMs).toBeLessThanOrEqual(Date.now());
      }
      const partitionOfKey = new Map<string, string>();
      for (const r of received.filter((e) => e.partitionKey !== null)) {
        const key = r.partitionKey as string;
        expect(partitionOfKey.get(key) ?? r.partitionId, `one partition for ${key}`).toBe(r.partitionId);
        partitionOfKey.set(key, r.partitionId);
      }

      // In order per partition: sequence numbers 0, 1, 2 … as received; offsets strings, increasing.
      const blobs: string[] = [];
      for await (const blob of containerClient.listBlobsFlat({ includeMetadata: true })) {
        blobs.push(blob.name);
        const match = /^(.*)\/([^/]+)\/\$default\/checkpoint\/(\d+)$/.exec(blob.name);
        if (match === null) continue;
        expect(match[1], "namespace prefix of the Python SDK's blobs").toBe("127.0.0.1");
        expect(match[2]).toBe(hub.toLowerCase());
        const inPartition = received.filter((r) => r.partitionId === match[3]);
        expect(inPartition.map((r) => r.sequenceNumber)).toEqual(inPartition.map((_, i) => i));
        const offsets = inPartition.map((r) => Number(r.offset));
        expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
        const last = inPartition.at(-1) as Received;
        expect(blob.metadata?.sequencenumber, `checkpoint of partition ${match[3]}`).toBe(
          String(last.sequenceNumber),
        );
        expect(blob.metadata?.offset).toBe(last.offset);
      }
      const checkpoints = blobs.filter((name) => name.includes("/checkpoint/"));
      const partitions = new Set(received.map((r) => r.partitionId));
      expect(checkpoints.length, `checkpoint blobs (all blobs: ${blobs.join(", ")})`).toBe(partitions.size);
    }, 180_000);

    it("routes the same partition keys to the same partitions as the JS SDK", async () => {
      const hub = freshHub(emulator, 4);
      const keys = Array.from({ length: 24 }, (_, n) => `route-${n}`);
      await python(
        ["send-keys", emulator.tlsConnectionString() as string, hub, ...keys],
        emulator.caFile as string,
      );
      const producer = new EventHubProducerClient(emulator.connectionString(), hub, {
        retryOptions: FAST_RETRY,
      });
      try {
        for (const key of keys)
          await producer.sendBatch([{ body: `keyed ${key}`, properties: { id: `js-${key}` } }], {
            partitionKey: key,
          });
      } finally {
        await producer.close();
      }

      const partitionOf = new Map<string, string>();
      const consumer = new EventHubConsumerClient("$Default", emulator.connectionString(), hub, {
        retryOptions: FAST_RETRY,
      });
      const subscription = consumer.subscribe(
        {
          processEvents: async (events, context) => {
            for (const e of events) partitionOf.set(String(e.properties?.id), context.partitionId);
          },
          processError: async () => {},
        },
        { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
      );
      try {
        await waitFor(() => partitionOf.size >= keys.length * 2, {
          timeoutMs: 30_000,
          what: "all keyed events",
        });
      } finally {
        await subscription.close();
        await consumer.close();
      }
      for (const key of keys)
        expect(partitionOf.get(`py-${key}`), `partition of ${key} from Python`).toBe(
          partitionOf.get(`js-${key}`),
        );
      // The keys spread over partitions, so agreement is not one partition taking everything.
      expect(new Set(keys.map((key) => partitionOf.get(`js-${key}`))).size).toBeGreaterThan(1);
    }, 120_000);

    it("refuses a wrong SAS key with an authentication error within seconds", async () => {
      const hub = freshHub(emulator, 2);
      const good = emulator.tlsConnectionString() as string;
      const wrong = good.replace(/SharedAccessKey=[^;]+/, "SharedAccessKey=d3Jvbmcta2V5LW5vdC10aGUtaHVicw==");
      expect(wrong).not.toBe(good);
      const startedMs = Date.now();
      const run = await runPython(["send-one", wrong, hub, "10"], emulator.caFile as string);
      expect(Date.now() - startedMs, "refusal time in ms").toBeLessThan(30_000);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(/^AuthenticationError: /m);
    }, 60_000);

    it("refuses an event over 1 MiB with a size error", async () => {
      const hub = freshHub(emulator, 2);
      const run = await runPython(
        ["send-one", emulator.tlsConnectionString() as string, hub, String(1024 * 1024 + 1)],
        emulator.caFile as string,
      );
      expect(run.status).toBe(2);
      // The emulator refuses it on the link (the SDK does not check a single event itself).
      expect(run.stderr).toMatch(/^EventDataSendError: .*exceeds the limit \(1048576 bytes\)/m);
      expect(run.stderr).toContain("LinkMessageSizeExceeded");
      // The hub holds nothing afterwards: nothing of the refused event was stored.
      const consumer = new EventHubConsumerClient("$Default", emulator.connectionString(), hub, {
        retryOptions: FAST_RETRY,
      });
      try {
        expect((await consumer.getPartitionProperties("0")).isEmpty).toBe(true);
      } finally {
        await consumer.close();
      }
    }, 60_000);

    /** Sends events n = from … to-1 to each partition with the id property "<p>-<n>". */
    async function sendRange(hub: string, from: number, to: number): Promise<string[]> {
      const producer = new EventHubProducerClient(emulator.connectionString(), hub, {
        retryOptions: FAST_RETRY,
      });
      const ids: string[] = [];
      try {
        for (const partitionId of ["0", "1"]) {
          const events = [];
          for (let n = from; n < to; n += 1) {
            events.push({ body: { n }, properties: { id: `${partitionId}-${n}` } });
            ids.push(`${partitionId}-${n}`);
          }
          await producer.sendBatch(events, { partitionId });
        }
      } finally {
        await producer.close();
      }
      return ids;
    }

    /** An `ehw run` child with the ledger handler, given the connection string the TLS listener prints. */
    async function startTlsWorker(hub: string, containerName: string): Promise<string> {
      const { dir, remove } = await tempDir();
      cleanups.push(remove);
      const ledger = `${dir}/ledger.jsonl`;
      const env = ledgerWorkerEnv(hub, containerName, ledger, {
        EHW_EVENTHUB_CONNECTION_STRING: emulator.tlsConnectionString() as string,
        NODE_EXTRA_CA_CERTS: emulator.caFile as string,
      });
      workers.push(await startWorker("ehw run (python interop)", env));
      return ledger;
    }

    /** The Python checkpointing consumer until `expected` events; their ids. */
    async function pythonReceive(hub: string, containerName: string, expected: number): Promise<string[]> {
      const out = await python(
        [
          "receive",
          emulator.tlsConnectionString() as string,
          hub,
          testStack().azurite.connectionString,
          containerName,
          String(expected),
          "60",
        ],
        emulator.caFile as string,
      );
      return out
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => (JSON.parse(line) as Received).id);
    }

    it("a Python consumer starts right after the checkpoint of a worker stopped with SIGTERM", async () => {
      const hub = freshHub(emulator, 2);
      const { containerName, containerClient } = await freshContainer("pyw");
      const first = await sendRange(hub, 0, 25);
      const ledger = await startTlsWorker(hub, containerName);
      await waitFor(async () => (await readLedger(ledger)).length >= first.length, {
        timeoutMs: 60_000,
        what: "the worker to handle the first events",
      });
      const exit = await (workers.pop() as (typeof workers)[number]).child.stop({ timeoutMs: 15_000 });
      expect(exit.signal, "the worker exits by itself on SIGTERM").toBeNull();
      const checkpoints = await checkpointsOf(containerClient, hub);
      expect([...checkpoints.keys()].sort()).toEqual(["0", "1"]);

      const second = await sendRange(hub, 25, 35);
      // Events after each checkpoint: those the worker handled but did not checkpoint, and the new ones.
      const after = [...first, ...second].filter((id) => {
        const [p, n] = id.split("-");
        return Number(n) > (checkpoints.get(p as string)?.sequenceNumber as number);
      });
      const received = await pythonReceive(hub, containerName, after.length);
      expect(received.sort()).toEqual(after.sort());
    }, 180_000);

    it("a worker starts right after the checkpoints of the Python consumer", async () => {
      const hub = freshHub(emulator, 2);
      const { containerName, containerClient } = await freshContainer("pyw");
      const first = await sendRange(hub, 0, 25);
      expect((await pythonReceive(hub, containerName, first.length)).sort()).toEqual([...first].sort());
      const pythonCheckpoints = await checkpointsOf(containerClient, hub);
      expect(pythonCheckpoints.get("0")?.sequenceNumber).toBe(24);
      expect(pythonCheckpoints.get("1")?.sequenceNumber).toBe(24);

      const second = await sendRange(hub, 25, 35);
      const ledger = await startTlsWorker(hub, containerName);
      await waitFor(
        async () => {
          const c = await checkpointsOf(containerClient, hub);
          return c.get("0")?.sequenceNumber === 34 && c.get("1")?.sequenceNumber === 34;
        },
        { timeoutMs: 60_000, what: "the worker to checkpoint the new events" },
      );
      const handled = (await readLedger(ledger)).map((e) => String(e.id));
      expect(handled.sort()).toEqual([...second].sort());
    }, 180_000);
  },
);
