/**
 * Failure policies through a real in-process worker (real SDK, emulator, Azurite): dead-lettering
 * before the checkpoint passes an event, skip, stop, and poison input.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import { afterEach, describe, expect, it } from "vitest";
import type { EventHandler } from "../../../src/handlers/contract.js";
import type { Worker } from "../../../src/worker/worker.js";
import { freshContainer, freshHub } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import {
  checkpointOf,
  containerOf,
  documentsIn,
  nOf,
  sendToPartition0,
  startDeadLetterWorker,
} from "./support.js";

const workers: Worker[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop({ deadlineMs: 2000 });
});

/** A handler that records the events it finished and fails those whose body says `fail`. */
function recorder(): EventHandler & { done: Set<number>; calls: Map<number, number> } {
  const done = new Set<number>();
  const calls = new Map<number, number>();
  return {
    done,
    calls,
    async handle(event: ReceivedEventData) {
      const n = nOf(event) ?? -1;
      calls.set(n, (calls.get(n) ?? 0) + 1);
      const body = event.body as { fail?: boolean; throwValue?: unknown; hang?: boolean };
      if (event.body instanceof Uint8Array) JSON.parse(Buffer.from(event.body).toString("utf8"));
      if (body.fail) throw new Error(`order ${n} is broken`);
      if (body.throwValue !== undefined) throw body.throwValue;
      if (body.hang) await new Promise(() => {});
      done.add(n);
    },
  };
}

const events = (count: number, fail: number) =>
  Array.from({ length: count }, (_, n) => ({
    body: { n, ...(n === fail ? { fail: true } : {}) },
    properties: { id: `e-${n}` },
  }));

describe("deadletter policy", () => {
  it("writes the document before the checkpoint passes the event, and the partition keeps going", async () => {
    const { hubName } = await freshHub(1);
    const { containerName, containerClient } = await freshContainer();
    const handler = recorder();
    const { worker, store, deadLetterContainer } = await startDeadLetterWorker({
      hubName,
      containerName,
      pipelines: [{ name: "orders", handlers: ["h"] }],
      handler,
    });
    workers.push(worker);
    store.blocked = true;
    await sendToPartition0(hubName, events(5, 2));

    // Later events finish while the failed one's document cannot be written…
    await waitFor(() => [0, 1, 3, 4].every((n) => handler.done.has(n)) && store.failedWrites >= 3, {
      timeoutMs: 30_000,
      what: "events 0, 1, 3, 4 handled and failing dead-letter writes",
    });
    await waitFor(async () => (await checkpointOf(containerClient, hubName))?.sequenceNumber === 1, {
      timeoutMs: 10_000,
      what: "a checkpoint at 1",
    });
    // …and the checkpoint stays before it: give the checkpointer several intervals to be wrong.
    const before = store.failedWrites;
    await waitFor(() => store.failedWrites >= before + 5, { what: "more failed writes" });
    expect((await checkpointOf(containerClient, hubName))?.sequenceNumber).toBe(1);
    expect(await documentsIn(deadLetterContainer)).toEqual([]);
    expect(worker.status().partitions[0]?.state).toBe("running");

    store.blocked = false;
    const checkpoint = await waitFor(
      async () => {
        const c = await checkpointOf(containerClient, hubName);
        return c?.sequenceNumber === 4 ? c : undefined;
      },
      { timeoutMs: 15_000, what: "a checkpoint at 4" },
    );
    const docs = await documentsIn(deadLetterContainer);
    expect(docs).toHaveLength(1);
    const [entry] = docs;
    expect(entry?.name).toMatch(
      new RegExp(`^${hubName}/\\$default/0/00000000000000000002-\\d{8}T\\d{9}Z\\.json$`),
    );
    expect(entry?.doc).toMatchObject({
      eventHubName: hubName,
      consumerGroup: "$Default",
      partitionId: "0",
      sequenceNumber: 2,
      pipeline: "orders",
      attempts: 2,
      bodyEncoding: "json",
      body: { n: 2, fail: true },
      properties: { id: "e-2" },
      error: { name: "HandlerFailedError", causes: [{ name: "Error", message: "order 2 is broken" }] },
    });
    const checkpointBlob = await containerClient
      .getBlockBlobClient(`127.0.0.1/${hubName}/$default/checkpoint/0`)
      .getProperties();
    expect(entry?.lastModified.getTime()).toBeLessThanOrEqual(checkpointBlob.lastModified?.getTime() ?? 0);
    expect(checkpoint.sequenceNumber).toBe(4);

    await sendToPartition0(hubName, [{ body: { n: 5 } }, { body: { n: 6 } }]);
    await waitFor(async () => (await checkpointOf(containerClient, hubName))?.sequenceNumber === 6, {
      timeoutMs: 15_000,
      what: "the partition going on to 6",
    });
  });
});

describe("skip and stop policies", () => {
  it("skip: the checkpoint passes the failed event with no document", async () => {
    const { hubName } = await freshHub(1);
    const { containerName, containerClient } = await freshContainer();
    const handler = recorder();
    const { worker, failures, deadLetterContainer } = await startDeadLetterWorker({
      hubName,
      containerName,
      pipelines: [{ name: "lenient", handlers: ["h"], onFailure: "skip" }],
      handler,
    });
    workers.push(worker);
    await sendToPartition0(hubName, events(4, 1));
    await waitFor(async () => (await checkpointOf(containerClient, hubName))?.sequenceNumber === 3, {
      timeoutMs: 30_000,
      what: "a checkpoint at 3",
    });
    expect(failures.stats()).toMatchObject({ skipped: 1, deadLettered: 0 });
    expect(handler.calls.get(1)).toBe(2);
    expect(await documentsIn(deadLetterContainer)).toEqual([]);
  });

  it("stop: the partition stops and the checkpoint stays before the failed event", async () => {
    const { hubName } = await freshHub(1);
    const { containerName, containerClient } = await freshContainer();
    const handler = recorder();
    const { worker, deadLetterContainer } = await startDeadLetterWorker({
      hubName,
      containerName,
      pipelines: [{ name: "strict", handlers: ["h"], onFailure: "stop" }],
      handler,
      extra: { ordering: "partition" },
    });
    workers.push(worker);
    await sendToPartition0(hubName, events(4, 1));
    await waitFor(() => worker.status().stoppedPartitions.includes("0"), {
      timeoutMs: 30_000,
      what: "partition 0 stopped",
    });
    const result = await worker.stop({ deadlineMs: 2000 });
    expect(result.drained).toBe(true);
    expect((await checkpointOf(containerClient, hubName))?.sequenceNumber).toBe(0);
    expect(handler.done.has(2)).toBe(false);
    expect(await documentsIn(deadLetterContainer)).toEqual([]);
  });
});

describe("poison input", () => {
  it("too large, not JSON, a thrown non-Error and a timeout each end in the policy with a clear reason", async () => {
    const { hubName } = await freshHub(1);
    const { containerName, containerClient } = await freshContainer();
    const handler = recorder();
    const { worker, deadLetterContainer } = await startDeadLetterWorker({
      hubName,
      containerName,
      pipelines: [
        { name: "orders", handlers: ["h"], maxEventBytes: 64 },
        { name: "strictjson", handlers: ["h"], expectJson: true },
        { name: "parsing", handlers: ["h"] },
      ],
      handler,
      extra: { handlerTimeoutMs: "300" },
    });
    workers.push(worker);
    await sendToPartition0(hubName, [
      { body: { n: 0 } },
      { body: { n: 1, pad: "x".repeat(100) } },
      { body: Buffer.from("<not json>"), properties: { route: "strictjson" } },
      { body: Buffer.from("{broken"), properties: { route: "parsing" } },
      { body: { n: 4, throwValue: { status: 503 } } },
      { body: { n: 5, hang: true } },
      { body: { n: 6 } },
    ]);
    await waitFor(async () => (await checkpointOf(containerClient, hubName))?.sequenceNumber === 6, {
      timeoutMs: 40_000,
      what: "a checkpoint past every poison event",
    });
    const docs = (await documentsIn(deadLetterContainer)).map((d) => d.doc);
    expect(docs.map((d) => d.sequenceNumber)).toEqual([1, 2, 3, 4, 5]);
    const [tooLarge, notJson, unparseable, nonError, timedOut] = docs;
    expect(tooLarge).toMatchObject({
      attempts: 1,
      error: { name: "PoisonEventError", code: "POISON_EVENT" },
    });
    expect(tooLarge?.error.message).toMatch(/too large .*maxEventBytes 64/);
    expect(handler.calls.has(1)).toBe(false);
    expect(notJson).toMatchObject({ attempts: 1, pipeline: "strictjson", bodyEncoding: "base64" });
    expect(Buffer.from(String(notJson?.body), "base64").toString()).toBe("<not json>");
    expect(notJson?.error.message).toMatch(/is not JSON/);
    expect(unparseable).toMatchObject({ attempts: 2, pipeline: "parsing", bodyEncoding: "base64" });
    expect(unparseable?.error.causes[0]?.name).toBe("SyntaxError");
    expect(nonError?.error.causes).toEqual([{ name: "thrown object", message: '{"status":503}' }]);
    expect(timedOut).toMatchObject({ attempts: 2 });
    expect(timedOut?.error.message).toMatch(/timed out after 300 ms/);
    expect(handler.done.has(6)).toBe(true);
    expect(await containerOf(deadLetterContainer).exists()).toBe(true);
  });
});
