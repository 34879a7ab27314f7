import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import type { ContainerClient } from "@azure/storage-blob";
import { afterEach, describe, expect, it } from "vitest";
import { BlobHandoverRequests } from "../../../src/checkpoint/handover-blobs.js";
import { freshContainer, freshHub, testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { runEhw, sendTo, startConsumer, type TestConsumer } from "./harness.js";

/** The namespace in blob names for the emulator's `Endpoint=sb://127.0.0.1:<port>`. */
const FQNS = "127.0.0.1";

const consumers: TestConsumer[] = [];
afterEach(async () => {
  await Promise.allSettled(consumers.splice(0).map((c) => c.close()));
});

interface Setup {
  hubName: string;
  connectionString: string;
  containerName: string;
  containerClient: ContainerClient;
  env: Record<string, string>;
}

async function setup(): Promise<Setup> {
  const { hubName, connectionString } = await freshHub(4);
  const { containerName, containerClient } = await freshContainer("inspect");
  const env = {
    EHW_EVENTHUB_CONNECTION_STRING: connectionString,
    EHW_EVENTHUB_NAME: hubName,
    EHW_STORAGE_CONNECTION_STRING: testStack().azurite.connectionString,
    EHW_CONTAINER_NAME: containerName,
  };
  return { hubName, connectionString, containerName, containerClient, env };
}

async function checkpoints(s: Setup): Promise<Record<string, { sequenceNumber: number; offset: string }>> {
  const list = await new BlobCheckpointStore(s.containerClient).listCheckpoints(FQNS, s.hubName, "$Default");
  return Object.fromEntries(
    list.map((c) => [c.partitionId, { sequenceNumber: c.sequenceNumber, offset: c.offset }]),
  );
}

async function ownersOf(s: Setup): Promise<Record<string, string>> {
  const list = await new BlobCheckpointStore(s.containerClient).listOwnership(FQNS, s.hubName, "$Default");
  return Object.fromEntries(list.map((o) => [o.partitionId, o.ownerId]));
}

/** Partition 0: 30 events, 1: 10, 2: none, 3: 5; worker-a checkpoints 0 at 19 and 3 at 4. */
async function runWorkerA(s: Setup): Promise<TestConsumer> {
  await sendTo(s.connectionString, s.hubName, "0", 30);
  await sendTo(s.connectionString, s.hubName, "1", 10);
  await sendTo(s.connectionString, s.hubName, "3", 5);
  const consumer = startConsumer({ ...s, ownerId: "worker-a", checkpointAt: { "0": 19, "3": 4 } });
  consumers.push(consumer);
  await waitFor(async () => Object.keys(await checkpoints(s)).length === 2, {
    timeoutMs: 30_000,
    what: "worker-a's checkpoints",
  });
  await waitFor(async () => Object.values(await ownersOf(s)).filter((o) => o === "worker-a").length === 4, {
    timeoutMs: 30_000,
    what: "worker-a owning all four partitions",
  });
  return consumer;
}

describe("ehw status", () => {
  it("shows owners, checkpoints and lag of a running consumer, then the relinquished partitions", async () => {
    const s = await setup();
    const worker = await runWorkerA(s);
    const run = await runEhw(["status", "--json"], s.env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc).toMatchObject({
      fullyQualifiedNamespace: FQNS,
      eventHubName: s.hubName,
      consumerGroup: "$Default",
    });
    const byId = Object.fromEntries(doc.partitions.map((p: { partitionId: string }) => [p.partitionId, p]));
    expect(byId["0"]).toMatchObject({
      ownerId: "worker-a",
      ownershipState: "owned",
      expired: false,
      checkpoint: { sequenceNumber: 19 },
      lastEnqueuedSequenceNumber: 29,
      lag: 10,
    });
    expect(byId["0"].secondsSinceRenewal).toBeLessThan(60);
    expect(byId["1"]).toMatchObject({ checkpoint: null, lastEnqueuedSequenceNumber: 9, lag: 10 });
    expect(byId["2"]).toMatchObject({ isEmpty: true, lag: 0, ownerId: "worker-a" });
    expect(byId["3"]).toMatchObject({ checkpoint: { sequenceNumber: 4 }, lag: 0 });
    expect(doc.totals).toMatchObject({ owners: 1, partitionsPerOwner: { "worker-a": 4 }, totalLag: 20 });

    await worker.close();
    consumers.splice(consumers.indexOf(worker), 1);
    const text = await runEhw(["status"], s.env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^0 +\(relinquished\) +\d+ s ago +released +19 +\S+ +29 +10 /m);
    expect(text.stdout).toContain("owners: 0");
    expect(text.stdout).toContain("total lag: 20 events");
  });
});

describe("ehw checkpoints", () => {
  it("refuses to reset while a live owner holds a partition, and resets with --force", async () => {
    const s = await setup();
    await runWorkerA(s);
    const before = await checkpoints(s);
    const refused = await runEhw(["checkpoints", "reset", "--to", "earliest", "--partition", "0"], s.env);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("partition 0 is owned by worker-a");
    expect(refused.stderr).toContain("nothing was written");
    expect(await checkpoints(s)).toEqual(before);

    // A dry run writes nothing, so it shows the plan on a live fleet too, and what would be refused.
    const dry = await runEhw(
      ["checkpoints", "reset", "--to", "earliest", "--partition", "0", "--dry-run"],
      s.env,
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^0 +seq 19 offset \S+ +→ +seq -1 offset -1 +0 +owned by worker-a$/m);
    expect(dry.stdout).toContain("dry run: nothing written");
    expect(dry.stderr).toContain("partition 0 is owned by worker-a");
    expect(dry.stderr).toContain("Stop the workers");
    expect(await checkpoints(s)).toEqual(before);

    const forced = await runEhw(
      ["checkpoints", "reset", "--to", "earliest", "--partition", "0", "--force"],
      s.env,
    );
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(
      /^0 +seq 19 offset \S+ +→ +seq -1 offset -1 +0 +forced: owned by worker-a$/m,
    );
    expect(forced.stderr).toContain("--force: partition 0 is owned by worker-a");
    expect(await checkpoints(s)).toEqual({ ...before, "0": { sequenceNumber: -1, offset: "-1" } });

    // A position that needs an event's offset cannot be read while the worker's receiver holds it.
    const held = await runEhw(
      ["checkpoints", "reset", "--to", "seq:5", "--partition", "0", "--force"],
      s.env,
    );
    expect(held.code).toBe(1);
    expect(held.stderr).toContain("a worker's receiver holds it");
    expect(held.stderr).toContain("nothing was written");
    expect((await checkpoints(s))["0"]).toEqual({ sequenceNumber: -1, offset: "-1" });

    // Offset "-1" starts the next owner at the first event; partition 1 has no checkpoint and
    // starts where the consumer's own start position says (earliest here).
    const workerA = consumers.pop();
    await workerA?.close();
    await sendTo(s.connectionString, s.hubName, "3", 1);
    const workerB = startConsumer({ ...s, ownerId: "worker-b" });
    consumers.push(workerB);
    await waitFor(() => (workerB.received.get("0")?.length ?? 0) >= 30 && workerB.received.has("3"), {
      timeoutMs: 30_000,
      what: "worker-b reading partitions 0 and 3",
    });
    expect(workerB.received.get("0")?.slice(0, 3)).toEqual([0, 1, 2]);
    expect(workerB.received.get("3")).toEqual([5]);
  });

  it("says exactly which partitions were reset when a write fails, and exits 1", async () => {
    const s = await setup();
    const workerA = await runWorkerA(s);
    await workerA.close();
    consumers.splice(consumers.indexOf(workerA), 1);
    // A lease on partition 3's checkpoint blob makes its write fail (HTTP 412, which is not a race here).
    const blob = s.containerClient.getBlobClient(`${FQNS}/${s.hubName}/$default/checkpoint/3`);
    const lease = blob.getBlobLeaseClient();
    await lease.acquireLease(-1);
    try {
      const run = await runEhw(["checkpoints", "reset", "--to", "latest"], s.env);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("PARTIAL RESET: written 0, 1, 2; NOT written 3");
      expect(run.stderr).toMatch(/partition 3 not reset: blob storage .*HTTP 412/);
      const after = await checkpoints(s);
      expect(after["0"]?.sequenceNumber).toBe(29);
      expect(after["1"]?.sequenceNumber).toBe(9);
      expect(after["3"]?.sequenceNumber).toBe(4);
    } finally {
      await lease.releaseLease();
    }
  });

  it("removes the chosen partitions' hand-over requests; status is not misled by them", async () => {
    const s = await setup();
    const workerA = await runWorkerA(s);
    await workerA.close();
    consumers.splice(consumers.indexOf(workerA), 1);
    const statusOf = async () => {
      const run = await runEhw(["status", "--json"], s.env);
      expect(run.code, run.stderr).toBe(0);
      const doc = JSON.parse(run.stdout);
      const rows = doc.partitions.map((p: Record<string, unknown>) => [
        p.partitionId,
        p.ownerId,
        p.checkpoint,
      ]);
      return { rows, totals: doc.totals, stray: doc.strayPartitionIds, prefixes: doc.namespacePrefixes };
    };
    const before = await statusOf();
    const scope = { fullyQualifiedNamespace: FQNS, eventHubName: s.hubName, consumerGroup: "$Default" };
    const requests = new BlobHandoverRequests(s.containerClient);
    for (const partitionId of ["0", "1", "3"]) {
      await requests.create(scope, {
        partitionId,
        from: "worker-b",
        to: "worker-a",
        requestedAtMs: Date.now(),
      });
    }
    expect(await statusOf()).toEqual(before);

    const reset = await runEhw(
      ["checkpoints", "reset", "--to", "earliest", "--partition", "0", "--partition", "1", "--json"],
      s.env,
    );
    expect(reset.code, reset.stderr).toBe(0);
    expect(JSON.parse(reset.stdout)).toMatchObject({
      written: ["0", "1"],
      partitions: [
        { partitionId: "0", handoverRequest: { from: "worker-b", to: "worker-a" } },
        { partitionId: "1", handoverRequest: { from: "worker-b", to: "worker-a" } },
      ],
      handoverRequestsRemoved: ["0", "1"],
      handoverRequestsLeft: [],
    });
    // Partition 3 was not chosen: its request stays.
    expect((await requests.list(scope)).map((r) => r.partitionId)).toEqual(["3"]);
  });

  it("lists checkpoints; a dry run writes nothing; a reset makes a new consumer start where asked", async () => {
    const s = await setup();
    const workerA = await runWorkerA(s);
    await workerA.close();
    consumers.splice(consumers.indexOf(workerA), 1);
    // Partition 3 gets a second wave after a time the reset goes back to (the emulator runs on
    // this machine's clock, so the wave is enqueued at or after the cut).
    const cutMs = Date.now();
    await sendTo(s.connectionString, s.hubName, "3", 3);

    const listed = await runEhw(["checkpoints", "list", "--json"], s.env);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).checkpoints).toEqual([
      { partitionId: "0", sequenceNumber: 19, offset: expect.any(String) },
      { partitionId: "3", sequenceNumber: 4, offset: expect.any(String) },
    ]);

    const before = await checkpoints(s);
    const dry = await runEhw(
      ["checkpoints", "reset", "--to", "seq:7", "--partition", "0", "--dry-run"],
      s.env,
    );
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^0 +seq 19 offset \S+ +→ +seq 6 offset \S+ +7$/m);
    expect(dry.stdout).toContain("dry run: nothing written");
    expect(await checkpoints(s)).toEqual(before);

    const cut = new Date(cutMs).toISOString();
    const seq = await runEhw(["checkpoints", "reset", "--to", "seq:7", "--partition", "0"], s.env);
    const latest = await runEhw(["checkpoints", "reset", "--to", "latest", "--partition", "1"], s.env);
    const time = await runEhw(["checkpoints", "reset", "--to", cut, "--partition", "3", "--json"], s.env);
    for (const run of [seq, latest, time]) expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(time.stdout)).toMatchObject({
      written: ["3"],
      partitions: [{ partitionId: "3", after: { sequenceNumber: 4 }, startSequenceNumber: 5 }],
    });
    expect((await checkpoints(s))["1"]?.sequenceNumber).toBe(9);

    await sendTo(s.connectionString, s.hubName, "1", 2);
    const workerB = startConsumer({ ...s, ownerId: "worker-b" });
    consumers.push(workerB);
    await waitFor(
      () => (workerB.received.get("0")?.length ?? 0) >= 23 && (workerB.received.get("3")?.length ?? 0) >= 3,
      {
        timeoutMs: 30_000,
        what: "worker-b reading partitions 0 and 3",
      },
    );
    await waitFor(() => (workerB.received.get("1")?.length ?? 0) >= 2, {
      timeoutMs: 30_000,
      what: "partition 1",
    });
    expect(workerB.received.get("0")?.[0]).toBe(7);
    expect(workerB.received.get("1")).toEqual([10, 11]);
    expect(workerB.received.get("3")).toEqual([5, 6, 7]);
  });

  it("exits non-zero with one clear line for a wrong storage key, an unknown container or an unknown hub", async () => {
    const s = await setup();
    const key = /AccountKey=([^;]+)/.exec(s.env.EHW_STORAGE_CONNECTION_STRING ?? "")?.[1] ?? "";
    const badKey = {
      ...s.env,
      EHW_STORAGE_CONNECTION_STRING: s.env.EHW_STORAGE_CONNECTION_STRING?.replace(key, "d3Jvbmcta2V5") ?? "",
    };
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [["status"], badKey, /blob storage at 127\.0\.0\.1:\d+ refused .*HTTP 403/],
      [
        ["checkpoints", "list"],
        { ...s.env, EHW_CONTAINER_NAME: "no-such-container" },
        /checkpoint container "no-such-container" does not exist/,
      ],
      [
        ["status"],
        { ...s.env, EHW_EVENTHUB_NAME: "no-such-hub" },
        /event hub 'no-such-hub' at 127\.0\.0\.1:\d+ does not exist/,
      ],
      [
        ["checkpoints", "reset", "--to", "latest"],
        { ...s.env, EHW_EVENTHUB_NAME: "no-such-hub" },
        /event hub 'no-such-hub' .* does not exist/,
      ],
    ];
    for (const [args, env, pattern] of cases) {
      const run = await runEhw(args, env);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toBe("");
      const lines = run.stderr.trim().split("\n");
      expect(lines, run.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
      expect(run.stderr).not.toContain(key);
      expect(run.stderr).not.toContain(testStack().emulator.key);
    }
  });
});
