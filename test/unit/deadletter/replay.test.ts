import { describe, expect, it } from "vitest";
import { buildDeadLetterDocument, type DeadLetterDocument } from "../../../src/deadletter/document.js";
import { deadLetterBlobName } from "../../../src/deadletter/naming.js";
import { type ReplayResult, type ReplaySender, replayDeadLetters } from "../../../src/deadletter/replay.js";
import type { DeadLetterEntry } from "../../../src/deadletter/store.js";
import { receivedEvent } from "./fakes.js";

/** An in-memory stand-in for the store's list/read/delete. */
class FakeStore {
  readonly docs = new Map<string, DeadLetterDocument>();
  readonly deleted: string[] = [];
  failDelete = false;

  add(seq: number, partitionKey: string | null = null): string {
    const doc = buildDeadLetterDocument(receivedEvent(seq, { partitionKey }), {
      eventHubName: "hub",
      consumerGroup: "cg",
      partitionId: "0",
      pipeline: "p",
      attempts: 1,
      error: new Error("x"),
      deadLetteredAtMs: 1_000,
    });
    const name = deadLetterBlobName({ ...doc, deadLetteredAtMs: 1_000 });
    this.docs.set(name, doc);
    return name;
  }

  async list(): Promise<DeadLetterEntry[]> {
    return [...this.docs.entries()].map(([name, d]) => ({
      name,
      partitionId: d.partitionId,
      sequenceNumber: d.sequenceNumber,
      pipeline: d.pipeline,
      error: d.error.message,
      deadLetteredAt: d.deadLetteredAt,
    }));
  }

  async read(name: string): Promise<DeadLetterDocument> {
    const doc = this.docs.get(name);
    if (doc === undefined) throw new Error(`no blob ${name}`);
    return doc;
  }

  async delete(name: string): Promise<void> {
    if (this.failDelete) throw new Error("delete refused");
    this.docs.delete(name);
    this.deleted.push(name);
  }
}

function sender(
  failOn: Set<number> = new Set(),
): ReplaySender & { sent: Array<{ body: unknown; target: unknown }> } {
  const sent: Array<{ body: unknown; target: unknown }> = [];
  return {
    sent,
    async send(event, target) {
      const body = event.body as { n: number };
      if (failOn.has(body.n)) throw new Error(`link detached for ${body.n}`);
      sent.push({ body, target });
    },
  };
}

describe("replayDeadLetters", () => {
  it("sends each document and deletes it only after the send succeeded", async () => {
    const store = new FakeStore();
    const a = store.add(1, "k");
    const b = store.add(2);
    const s = sender();
    const results = await replayDeadLetters({ store, sender: s, sameHub: true });
    expect(results.map((r) => r.status)).toEqual(["replayed", "replayed"]);
    expect(s.sent).toEqual([
      { body: { n: 1 }, target: { partitionKey: "k" } },
      { body: { n: 2 }, target: { partitionId: "0" } },
    ]);
    expect(store.deleted).toEqual([a, b]);
  });

  it("leaves the blob of a failed send, reports it, and goes on", async () => {
    const store = new FakeStore();
    const a = store.add(1);
    const b = store.add(2);
    const seen: ReplayResult[] = [];
    const results = await replayDeadLetters({
      store,
      sender: sender(new Set([1])),
      sameHub: true,
      onResult: (r) => seen.push(r),
    });
    expect(results[0]).toMatchObject({
      name: a,
      status: "failed",
      error: "send failed: link detached for 1",
    });
    expect(results[1]).toMatchObject({ name: b, status: "replayed" });
    expect(seen).toEqual(results);
    expect([...store.docs.keys()]).toEqual([a]);
  });

  it("reports a sent event whose delete failed as failed and sent", async () => {
    const store = new FakeStore();
    store.add(1);
    store.failDelete = true;
    const [result] = await replayDeadLetters({ store, sender: sender(), sameHub: false });
    expect(result).toMatchObject({ status: "failed", sent: true, target: {} });
    expect(result?.error).toMatch(/sent, but delete failed/);
  });

  it("sends and deletes nothing on a dry run", async () => {
    const store = new FakeStore();
    store.add(1);
    const s = sender();
    const results = await replayDeadLetters({ store, sender: s, sameHub: true, dryRun: true });
    expect(results.map((r) => r.status)).toEqual(["would-replay"]);
    expect(s.sent).toEqual([]);
    expect(store.docs.size).toBe(1);
  });
});
