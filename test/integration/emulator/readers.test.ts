import { EventHubConsumerClient, earliestEventPosition, type Subscription } from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../helpers/wait-for.js";
import { FAST_RETRY, useTestEmulator } from "./harness.js";

interface Reader {
  received: number;
  errors: Array<{ name: string; code?: string; message: string }>;
  subscription: Subscription;
}

describe("emulator reader arbitration (epochs, limits, consumer groups)", () => {
  const env = useTestEmulator();
  const { closer } = env;

  function reader(hub: string, options: { ownerLevel?: number; consumerGroup?: string } = {}): Reader {
    const consumer = closer.add(
      new EventHubConsumerClient(options.consumerGroup ?? "$Default", env.emulator.connectionString(), hub, {
        // No retries: a refused or stolen link should show as exactly one error.
        retryOptions: { ...FAST_RETRY, maxRetries: 0 },
      }),
    );
    const r: Reader = { received: 0, errors: [], subscription: undefined as unknown as Subscription };
    r.subscription = closer.add(
      consumer.subscribe(
        "0",
        {
          processEvents: async (events) => {
            r.received += events.length;
          },
          processError: async (err) => {
            const e = err as Error & { code?: string };
            r.errors.push({ name: e.name, code: e.code, message: e.message });
          },
        },
        {
          startPosition: earliestEventPosition,
          maxWaitTimeInSeconds: 1,
          ...(options.ownerLevel === undefined ? {} : { ownerLevel: options.ownerLevel }),
        },
      ),
    );
    return r;
  }

  async function send(hub: string, count: number): Promise<void> {
    const p = env.producer(hub);
    await p.sendBatch(
      Array.from({ length: count }, (_, i) => ({ body: i })),
      { partitionId: "0" },
    );
  }

  const stolen = (r: Reader) => r.errors.some((e) => e.code === "ReceiverDisconnectedError");

  it("lets a reader with a higher epoch steal the partition (ReceiverDisconnectedError for the old one)", async () => {
    const hub = env.hub(1);
    await send(hub, 3);
    const first = reader(hub, { ownerLevel: 1 });
    await waitFor(() => first.received >= 3, { what: "the first reader's events" });
    const second = reader(hub, { ownerLevel: 2 });
    await waitFor(() => stolen(first), { what: "the first reader to be disconnected" });
    await waitFor(() => second.received >= 3, { what: "the second reader's events" });
    expect(second.errors).toEqual([]);
  });

  it("lets an equal epoch take over", async () => {
    const hub = env.hub(1);
    // Not 0: the SDK drops owner level 0 unless a checkpoint store is in use.
    const first = reader(hub, { ownerLevel: 3 });
    await waitFor(() => env.emulator.readerCount() === 1, { what: "the first reader" });
    const second = reader(hub, { ownerLevel: 3 });
    await waitFor(() => stolen(first), { what: "the first reader to be disconnected" });
    await send(hub, 2);
    await waitFor(() => second.received >= 2, { what: "the second reader's events" });
    expect(second.errors).toEqual([]);
  });

  it("refuses a lower epoch and a non-epoch reader while an epoch reader holds the partition", async () => {
    const hub = env.hub(1);
    const holder = reader(hub, { ownerLevel: 5 });
    await waitFor(() => env.emulator.readerCount() === 1, { what: "the holder" });
    const lower = reader(hub, { ownerLevel: 4 });
    const plain = reader(hub);
    await waitFor(() => stolen(lower) && stolen(plain), { what: "both newcomers to be refused" });
    await send(hub, 1);
    await waitFor(() => holder.received >= 1, { what: "the holder's event" });
    expect(holder.errors).toEqual([]);
    expect(lower.received + plain.received).toBe(0);
  });

  it("refuses a sixth non-epoch reader with QuotaExceededError", async () => {
    const hub = env.hub(1);
    const five = Array.from({ length: 5 }, () => reader(hub));
    await waitFor(() => env.emulator.readerCount() === 5, { what: "five readers" });
    const sixth = reader(hub);
    await waitFor(() => sixth.errors.length > 0, { what: "the sixth reader's error" });
    expect(sixth.errors[0]?.code).toBe("QuotaExceededError");
    await send(hub, 1);
    await waitFor(() => five.every((r) => r.received >= 1), { what: "all five readers to get the event" });
    expect(five.flatMap((r) => r.errors)).toEqual([]);
  });

  it("refuses an unknown consumer group with a not-found error", async () => {
    const hub = env.hub(1, ["known"]);
    const unknown = reader(hub, { consumerGroup: "nope" });
    await waitFor(() => unknown.errors.length > 0, { what: "the not-found error" });
    expect(unknown.errors[0]?.code).toBe("MessagingEntityNotFoundError");
    expect(unknown.errors[0]?.message).toContain("nope");
    const known = reader(hub, { consumerGroup: "known" });
    await send(hub, 1);
    await waitFor(() => known.received >= 1, { what: "the known group's event" });
  });
});
