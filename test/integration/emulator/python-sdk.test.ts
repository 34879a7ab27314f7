/**
 * The unmodified Python SDK (Debian's python3-azure: azure-eventhub 5.11 with its pure-Python
 * AMQP, and BlobCheckpointStore) against the emulator and Azurite (issue 18). That SDK always
 * speaks TLS on port 5671 and reads performative fields by position, so this needs the amqps
 * listener and the full-field frames. A producer fills one create_batch() until it is full, then
 * sends keyed events; a consumer with a checkpoint store reads from "-1", checkpointing each event.
 * Then: partition keys route as with the JS SDK, refusals (wrong key, 1 MiB), and a worker (`ehw run`
 * on the TLS connection string) sharing checkpoints and a consumer group with the Python consumer.
 * All in one file: the Python SDK's fixed port 5671 allows one emulator with it at a time.
 */
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorServer } from "../../../src/emulator/index.js";
import { freshContainer, testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import {
  checkpointsOf,
  ledgerWorkerEnv,
  ownersOf,
  readLedger,
  startWorker,
  tempDir,
  useWorkerTests,
} from "../worker/support.js";
import { FAST_RETRY, freshHub, startTestEmulator } from "./harness.js";
import {
  PYTHON_SDK_TLS_PORT,
  python,
  pythonSdkMissing,
  type Received,
  runPython,
  type Sent,
  spawnPython,
} from "./python-harness.js";

const KEYED_COUNT = 40;

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
    async function sendRange(
      hub: string,
      from: number,
      to: number,
      partitions = ["0", "1"],
    ): Promise<string[]> {
      const producer = new EventHubProducerClient(emulator.connectionString(), hub, {
        retryOptions: FAST_RETRY,
      });
      const ids: string[] = [];
      try {
        for (const partitionId of partitions) {
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

    it("a Python consumer and a worker split the partitions; the worker takes over after kill -9", async () => {
      const partitions = ["0", "1", "2", "3"];
      const hub = freshHub(emulator, partitions.length);
      const { containerName, containerClient } = await freshContainer("pym");
      const pythonIds = new Set<string>();
      const consumer = await spawnPython(
        "python consumer",
        [
          "consume",
          emulator.tlsConnectionString() as string,
          hub,
          testStack().azurite.connectionString,
          containerName,
        ],
        emulator.caFile as string,
        (text) => {
          if (text.startsWith("{")) pythonIds.add((JSON.parse(text) as Received).id);
        },
      );
      cleanups.push(() => consumer.kill());
      const ledger = await startTlsWorker(hub, containerName);
      const worker = workers[0] as (typeof workers)[number];
      const split = await waitFor(
        async () => {
          const owners = await ownersOf(containerClient, hub);
          const mine = partitions.filter((p) => owners.get(p) === worker.ownerId);
          const theirs = partitions.filter((p) => owners.has(p) && owners.get(p) !== worker.ownerId);
          return mine.length === 2 && theirs.length === 2 ? theirs : undefined;
        },
        { timeoutMs: 60_000, what: "the Python consumer and the worker to own two partitions each" },
      );

      const handled = async (): Promise<Set<string>> =>
        new Set([...pythonIds, ...(await readLedger(ledger)).map((e) => String(e.id))]);
      const first = await sendRange(hub, 0, 20, partitions);
      await waitFor(
        async () => {
          const all = await handled();
          return first.every((id) => all.has(id));
        },
        { timeoutMs: 60_000, what: "the first events handled by the two" },
      );
      for (const p of split)
        expect(
          first.some((id) => id.startsWith(`${p}-`) && pythonIds.has(id)),
          `Python handled partition ${p}`,
        ).toBe(true);

      await consumer.stop({ signal: "SIGKILL" });
      const second = await sendRange(hub, 20, 30, partitions);
      await waitFor(() => partitions.every((p) => worker.held().has(p)), {
        timeoutMs: 60_000,
        what: "the worker to take over the Python consumer's partitions",
      });
      await waitFor(
        async () => {
          const all = await handled();
          return [...first, ...second].every((id) => all.has(id));
        },
        { timeoutMs: 60_000, what: "every event handled by one of the two" },
      );
    }, 180_000);
  },
);
