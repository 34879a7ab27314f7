/**
 * `ehw deadletter list|replay` as child processes against documents a real worker wrote: replay
 * re-delivers the original body, properties and partition key, then deletes the document; a
 * failed replay keeps it and exits non-zero.
 */
import { EventHubConsumerClient, earliestEventPosition, type ReceivedEventData } from "@azure/event-hubs";
import { afterEach, describe, expect, it } from "vitest";
import type { DeadLetterEntry } from "../../../src/deadletter/store.js";
import type { EventHandler } from "../../../src/handlers/contract.js";
import { ehwCommand } from "../../../src/local/cli-command.js";
import { type ChildRun, runToExit } from "../../helpers/run-to-exit.js";
import { freshContainer, freshHub, testStack, uniqueName } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { workerEnv } from "../worker/support.js";
import { documentsIn, sendToPartition0, startDeadLetterWorker } from "./support.js";

const pids: number[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already exited
    }
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `ehw deadletter ...args` with the test stack's settings and no other `EHW_*` variable. */
function ehw(args: string[], env: Record<string, string>): Promise<ChildRun> {
  const { command, args: full } = ehwCommand(["deadletter", ...args]);
  return runToExit(command, full, workerEnv(env), (pid) => pids.push(pid));
}

/** A handler failing every event whose `fail` property is set. */
const failing: EventHandler = {
  handle(event: ReceivedEventData) {
    if (event.properties?.fail === true) throw new Error("rejected by the test handler");
  },
};

async function readAll(hubName: string, count: number): Promise<ReceivedEventData[]> {
  const consumer = new EventHubConsumerClient("$Default", testStack().emulator.connectionString, hubName);
  const received: ReceivedEventData[] = [];
  const subscription = consumer.subscribe(
    {
      processEvents: async (events) => {
        received.push(...events);
      },
      processError: async () => {},
    },
    { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 0.2 },
  );
  try {
    await waitFor(() => received.length >= count, { timeoutMs: 20_000, what: `${count} replayed events` });
    return received;
  } finally {
    await subscription.close();
    await consumer.close();
  }
}

describe("ehw deadletter", () => {
  it("lists documents and replays them to another hub with their original body, properties and key", async () => {
    const source = await freshHub(1);
    const target = await freshHub(2);
    const { containerName } = await freshContainer();
    const { worker, deadLetterContainer } = await startDeadLetterWorker({
      hubName: source.hubName,
      containerName,
      pipelines: [
        { name: "orders", handlers: ["h"] },
        { name: "refunds", handlers: ["h"] },
      ],
      handler: failing,
      extra: { maxAttempts: "1" },
    });
    cleanups.push(() => worker.stop({ deadlineMs: 2000 }) as Promise<unknown>);
    const binary = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    const when = new Date(Date.UTC(2026, 0, 1));
    await sendToPartition0(source.hubName, [
      { body: { order: 1 }, properties: { fail: true, kind: "order", at: when } },
      { body: binary, properties: { fail: true, route: "refunds" }, partitionKey: "customer-7" },
      { body: { order: 3 }, properties: { kind: "fine" } },
    ]);
    await waitFor(async () => (await documentsIn(deadLetterContainer)).length === 2, {
      timeoutMs: 30_000,
      what: "two dead-letter documents",
    });
    await worker.stop({ deadlineMs: 2000 });

    const { emulator, azurite } = testStack();
    const env = {
      EHW_EVENTHUB_CONNECTION_STRING: emulator.connectionString,
      EHW_EVENTHUB_NAME: source.hubName,
      EHW_STORAGE_CONNECTION_STRING: azurite.connectionString,
      EHW_CONTAINER_NAME: containerName,
    };
    const dl = ["--dead-letter-container", deadLetterContainer];

    const listed = await ehw(["list", "--json", ...dl], env);
    expect(listed.stderr).toBe("");
    expect(listed.status).toBe(0);
    const entries = JSON.parse(listed.stdout) as DeadLetterEntry[];
    expect(entries.map((e) => [e.partitionId, e.sequenceNumber, e.pipeline])).toEqual([
      ["0", 0, "orders"],
      ["0", 1, "refunds"],
    ]);
    expect(entries[0]?.error).toMatch(/HandlerFailedError: .*rejected by the test handler/);
    const table = await ehw(["list", "--pipeline", "refunds", "--partition", "0", ...dl], env);
    expect(table.stdout.split("\n")[0]).toMatch(/^BLOB\s+PARTITION\s+SEQUENCE\s+PIPELINE\s+TIME\s+ERROR$/);
    expect(table.stdout.trim().split("\n")).toHaveLength(2);
    expect(table.stdout).toContain(entries[1]?.name);
    expect(table.stdout).not.toContain(emulator.key);

    const dry = await ehw(["replay", "--dry-run", "--to-hub", target.hubName, ...dl], env);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/would send .*sequence 1\) → key "customer-7"/);
    expect(await documentsIn(deadLetterContainer)).toHaveLength(2);

    const replayed = await ehw(["replay", "--to-hub", target.hubName, ...dl], env);
    expect(replayed.status).toBe(0);
    expect(replayed.stderr).toMatch(/replayed 2, failed 0/);
    const events = await readAll(target.hubName, 2);
    // What a consumer of the source hub saw is what the replay must carry.
    const originals = await readAll(source.hubName, 3);
    const json = events.find((e) => !(e.body instanceof Uint8Array));
    const bytes = events.find((e) => e.body instanceof Uint8Array);
    expect(json?.body).toEqual({ order: 1 });
    expect(json?.properties).toEqual(originals[0]?.properties);
    expect(json?.properties).toMatchObject({ fail: true, kind: "order" });
    expect(Buffer.compare(Buffer.from(bytes?.body as Uint8Array), binary)).toBe(0);
    expect(bytes?.properties).toEqual(originals[1]?.properties);
    expect(bytes?.properties).toEqual({ fail: true, route: "refunds" });
    expect(bytes?.partitionKey).toBe("customer-7");
    expect(await documentsIn(deadLetterContainer)).toEqual([]);
  });

  it("keeps the document and exits 1 when the replay cannot be sent", async () => {
    const source = await freshHub(1);
    const { containerName } = await freshContainer();
    const { worker, deadLetterContainer } = await startDeadLetterWorker({
      hubName: source.hubName,
      containerName,
      pipelines: [{ name: "orders", handlers: ["h"] }],
      handler: failing,
      extra: { maxAttempts: "1" },
    });
    cleanups.push(() => worker.stop({ deadlineMs: 2000 }) as Promise<unknown>);
    await sendToPartition0(source.hubName, [{ body: { order: 1 }, properties: { fail: true } }]);
    await waitFor(async () => (await documentsIn(deadLetterContainer)).length === 1, {
      timeoutMs: 30_000,
      what: "a dead-letter document",
    });
    await worker.stop({ deadlineMs: 2000 });
    const { emulator, azurite } = testStack();
    const result = await ehw(
      ["replay", "--to-hub", uniqueName("missing"), "--dead-letter-container", deadLetterContainer],
      {
        EHW_EVENTHUB_CONNECTION_STRING: emulator.connectionString,
        EHW_EVENTHUB_NAME: source.hubName,
        EHW_STORAGE_CONNECTION_STRING: azurite.connectionString,
        EHW_CONTAINER_NAME: containerName,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/ehw deadletter: cannot reach hub 'missing-/);
    expect(result.stderr).not.toContain(emulator.key);
    expect(await documentsIn(deadLetterContainer)).toHaveLength(1);
  });
});
