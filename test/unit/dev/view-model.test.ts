import { describe, expect, it } from "vitest";
import {
  buildDevView,
  type DevSnapshot,
  partitionRow,
  type WorkerSnapshot,
  workerRow,
  workerState,
} from "../../../src/dev/view-model.js";
import { initialWorkerLogState, type WorkerLogState } from "../../../src/dev/worker-log.js";
import type { PartitionStatusRow } from "../../../src/inspect/status-rows.js";

function log(overrides: Partial<WorkerLogState> = {}): WorkerLogState {
  return { ...initialWorkerLogState(), ...overrides };
}

function worker(overrides: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return {
    ownerId: "worker-1",
    pid: 101,
    exit: undefined,
    stopRequested: false,
    log: log(),
    processed: undefined,
    eventsPerSecond: undefined,
    ...overrides,
  };
}

function row(overrides: Partial<PartitionStatusRow> = {}): PartitionStatusRow {
  return {
    partitionId: "0",
    ownerId: "worker-1",
    ownershipState: "owned",
    lastRenewedMs: 0,
    secondsSinceRenewal: 1,
    checkpoint: { sequenceNumber: 90, offset: "9000" },
    beginningSequenceNumber: 0,
    lastEnqueuedSequenceNumber: 99,
    lastEnqueuedOffset: "9900",
    lastEnqueuedTimeMs: 1,
    isEmpty: false,
    lag: 9,
    ...overrides,
  };
}

function snapshot(overrides: Partial<DevSnapshot> = {}): DevSnapshot {
  return {
    uptimeMs: 5000,
    hub: "orders",
    partitionCount: 2,
    producer: { sent: 500, eventsPerSecond: 100, failure: undefined },
    workers: [],
    partitions: undefined,
    partitionsError: undefined,
    processedPerSecond: undefined,
    redelivered: undefined,
    ...overrides,
  };
}

describe("workerState", () => {
  it("is starting until the worker says it subscribed or claims a partition", () => {
    expect(workerState(worker())).toBe("starting");
    expect(workerState(worker({ log: log({ subscribed: true }) }))).toBe("running");
  });

  it("is stopping once asked to stop or draining, and exited once the process is gone", () => {
    expect(workerState(worker({ stopRequested: true, log: log({ subscribed: true }) }))).toBe("stopping");
    expect(workerState(worker({ log: log({ subscribed: true, draining: true }) }))).toBe("stopping");
    expect(workerState(worker({ stopRequested: true, exit: { code: 0, signal: null } }))).toBe("exited");
  });
});

describe("workerRow", () => {
  it("shows partitions numerically sorted, rate, and in-flight summed from the status line", () => {
    const status = {
      state: "running",
      partitions: [
        {
          partitionId: "10",
          state: "running",
          inFlight: 2,
          queued: 0,
          processed: 5,
          failed: 0,
          lastCheckpoint: 4,
        },
        {
          partitionId: "2",
          state: "running",
          inFlight: 3,
          queued: 1,
          processed: 7,
          failed: 0,
          lastCheckpoint: 6,
        },
      ],
    };
    const r = workerRow(
      worker({
        log: log({ subscribed: true, partitions: new Set(["10", "2"]), status }),
        eventsPerSecond: 12.5,
      }),
    );
    expect(r.state).toBe("running");
    expect(r.stateLabel).toBe("running");
    expect(r.partitions).toEqual(["2", "10"]);
    expect(r.eventsPerSecond).toBe(12.5);
    expect(r.inFlight).toBe(5);
  });

  it("leaves in-flight unknown without status lines", () => {
    expect(workerRow(worker({ log: log({ subscribed: true }) })).inFlight).toBeUndefined();
  });

  it("labels an exit by code or signal, drops partitions and rate, keeps processed", () => {
    const killed = workerRow(
      worker({
        exit: { code: null, signal: "SIGKILL" },
        stopRequested: true,
        log: log({ partitions: new Set(["1"]) }),
        eventsPerSecond: 3,
        processed: 42,
      }),
    );
    expect(killed.stateLabel).toBe("exited SIGKILL");
    expect(killed.partitions).toEqual([]);
    expect(killed.eventsPerSecond).toBeUndefined();
    expect(killed.processed).toBe(42);
    expect(killed.note).toBeUndefined();
  });

  it("shows the last error of a worker that failed on its own", () => {
    const failed = workerRow(
      worker({ exit: { code: 1, signal: null }, log: log({ lastError: "cannot load handler ./nope.js" }) }),
    );
    expect(failed.stateLabel).toBe("exited 1");
    expect(failed.note).toBe("cannot load handler ./nope.js");
  });
});

describe("partitionRow", () => {
  it("takes owner, checkpoint, last enqueued and lag from the status row", () => {
    expect(partitionRow(row())).toEqual({
      partitionId: "0",
      owner: "worker-1",
      expired: false,
      ownerExited: false,
      checkpoint: 90,
      lastEnqueued: 99,
      lag: 9,
    });
  });

  it("shows a relinquished or missing record as no owner", () => {
    expect(partitionRow(row({ ownerId: "", ownershipState: "relinquished" })).owner).toBeUndefined();
    expect(partitionRow(row({ ownerId: undefined, ownershipState: "unowned" })).owner).toBeUndefined();
  });

  it("marks an expired owner and an owner whose process exited", () => {
    expect(partitionRow(row({ ownershipState: "expired" })).expired).toBe(true);
    expect(partitionRow(row(), new Set(["worker-1"])).ownerExited).toBe(true);
  });

  it("leaves checkpoint and last enqueued unknown for a fresh, empty partition", () => {
    const r = partitionRow(
      row({
        checkpoint: undefined,
        isEmpty: true,
        lastEnqueuedSequenceNumber: -1,
        lag: 0,
        ownerId: undefined,
        ownershipState: "unowned",
      }),
    );
    expect(r.checkpoint).toBeUndefined();
    expect(r.lastEnqueued).toBeUndefined();
    expect(r.lag).toBe(0);
  });
});

describe("buildDevView", () => {
  it("keeps unknowns unknown when nothing has been sampled yet", () => {
    const view = buildDevView(snapshot({ producer: undefined, workers: [worker()] }));
    expect(view.partitions).toBeUndefined();
    expect(view.totals).toEqual({
      sent: undefined,
      sentPerSecond: undefined,
      processed: undefined,
      processedPerSecond: undefined,
      redelivered: undefined,
      lag: undefined,
      ownedPartitions: undefined,
      partitionCount: 2,
      activeWorkers: 1,
    });
    expect(view.notes).toEqual([]);
  });

  it("sums processed and lag, counts live owners and active workers", () => {
    const view = buildDevView(
      snapshot({
        workers: [
          worker({ ownerId: "worker-1", processed: 300, log: log({ subscribed: true }) }),
          worker({ ownerId: "worker-2", processed: 150, exit: { code: null, signal: "SIGKILL" } }),
          worker({ ownerId: "worker-3", processed: undefined, stopRequested: true }),
        ],
        partitions: [
          row({ partitionId: "1", ownerId: "worker-2", lag: 40 }),
          row({ partitionId: "0", ownerId: "worker-1", lag: 9 }),
        ],
        processedPerSecond: 95,
        redelivered: 12,
      }),
    );
    expect(view.totals.redelivered).toBe(12);
    expect(view.partitions?.map((p) => p.partitionId)).toEqual(["0", "1"]);
    expect(view.partitions?.[1]?.ownerExited).toBe(true);
    expect(view.totals.processed).toBe(450);
    expect(view.totals.lag).toBe(49);
    expect(view.totals.ownedPartitions).toBe(1);
    expect(view.totals.activeWorkers).toBe(1);
    expect(view.totals.sent).toBe(500);
    expect(view.totals.processedPerSecond).toBe(95);
  });

  it("notes a failed producer and unreadable partitions", () => {
    const view = buildDevView(
      snapshot({
        producer: { sent: 10, eventsPerSecond: undefined, failure: "cannot send to hub 'orders'" },
        partitionsError: "cannot reach event hub 'orders'",
      }),
    );
    expect(view.notes).toEqual([
      "producer stopped: cannot send to hub 'orders'",
      "partitions: cannot reach event hub 'orders'",
    ]);
  });
});

describe("partition age in the dev view", () => {
  const NOW = 1_700_000_000_000;
  const statusOf = (oldest: number | null) => ({
    state: "running",
    partitions: [
      {
        partitionId: "0",
        state: "running",
        inFlight: 1,
        queued: 0,
        processed: 0,
        failed: 0,
        lastCheckpoint: 90,
        oldestIncompleteEnqueuedTimeMs: oldest,
      },
    ],
  });
  const view = (oldest: number | null, lag: number, nowMs: number | "not given" = NOW) =>
    buildDevView(
      snapshot({
        workers: [worker({ log: log({ subscribed: true, status: statusOf(oldest) }) })],
        partitions: [row({ lag })],
        ...(nowMs === "not given" ? {} : { nowMs }),
      }),
    ).partitions?.[0];

  it("is the age of the oldest event the owner holds unfinished", () => {
    expect(view(NOW - 4_500, 9)?.ageSeconds).toBe(4.5);
  });
  it("is 0 with no lag, and unknown when the owner holds nothing or no time is given", () => {
    expect(view(null, 0)?.ageSeconds).toBe(0);
    expect(view(null, 9)?.ageSeconds).toBeUndefined();
    expect(view(NOW - 4_500, 9, "not given")?.ageSeconds).toBeUndefined();
  });
});
