import { describe, expect, it } from "vitest";
import { useTestEmulator } from "./harness.js";

describe("emulator management (hub and partition properties)", () => {
  const env = useTestEmulator();

  it("reports hub properties: name, creation time and partition ids", async () => {
    const before = Date.now();
    const hub = env.hub(3);
    const producer = env.producer(hub);
    const props = await producer.getEventHubProperties();
    expect(props.name).toBe(hub);
    expect(props.partitionIds).toEqual(["0", "1", "2"]);
    expect(props.createdOn).toBeInstanceOf(Date);
    expect(props.createdOn.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(props.createdOn.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it("reports an empty partition as -1 / '-1' / epoch 0 / isEmpty", async () => {
    const hub = env.hub(2);
    const producer = env.producer(hub);
    const props = await producer.getPartitionProperties("1");
    expect(props).toMatchObject({
      eventHubName: hub,
      partitionId: "1",
      beginningSequenceNumber: -1,
      lastEnqueuedSequenceNumber: -1,
      lastEnqueuedOffset: "-1",
      isEmpty: true,
    });
    expect(props.lastEnqueuedOnUtc.getTime()).toBe(0);
  });

  it("reports a non-empty partition's last sequence number, offset and time", async () => {
    const hub = env.hub(2);
    const producer = env.producer(hub);
    const before = Date.now();
    await producer.sendBatch([{ body: "a" }, { body: "b" }, { body: "c" }], { partitionId: "0" });
    const props = await producer.getPartitionProperties("0");
    expect(props.isEmpty).toBe(false);
    expect(props.beginningSequenceNumber).toBe(0);
    expect(props.lastEnqueuedSequenceNumber).toBe(2);
    expect(typeof props.lastEnqueuedOffset).toBe("string");
    expect(props.lastEnqueuedOffset).not.toBe("-1");
    expect(props.lastEnqueuedOnUtc.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const other = await producer.getPartitionProperties("1");
    expect(other.isEmpty).toBe(true);
  });

  it("answers the consumer client's partition ids too", async () => {
    const hub = env.hub(4);
    const consumer = env.consumer(hub);
    expect(await consumer.getPartitionIds()).toEqual(["0", "1", "2", "3"]);
  });

  it("surfaces an unknown hub as the SDK's not-found error", async () => {
    const producer = env.producer("no-such-hub");
    const err = await producer.getEventHubProperties().then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(err).toBeDefined();
    expect(err?.code).toBe("MessagingEntityNotFoundError");
    expect(err?.message).toContain("no-such-hub");
    expect(err?.message).toContain("could not be found");
  });

  it("surfaces an unknown partition as not found", async () => {
    const hub = env.hub(2);
    const producer = env.producer(hub);
    await expect(producer.getPartitionProperties("7")).rejects.toMatchObject({
      code: "MessagingEntityNotFoundError",
    });
  });
});
