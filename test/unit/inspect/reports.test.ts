import { describe, expect, it } from "vitest";
import { ConnectionError } from "../../../src/common/errors.js";
import {
  buildStatusReport,
  type ReportSource,
  type ResetPlan,
  renderRefusal,
  renderResetOutcome,
  renderResetPlan,
  renderStatusText,
  resetJson,
  type StatusSnapshot,
  statusJson,
} from "../../../src/inspect/index.js";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const SOURCE: ReportSource = {
  target: { fullyQualifiedNamespace: "127.0.0.1", eventHubName: "orders", consumerGroup: "$Default" },
  eventHubsHost: "127.0.0.1:5672",
  storageHost: "127.0.0.1:10000",
  containerName: "ckpt",
};
const SNAPSHOT: StatusSnapshot = {
  partitionIds: ["0", "1"],
  partitions: [
    {
      partitionId: "0",
      beginningSequenceNumber: 0,
      lastEnqueuedSequenceNumber: 99,
      lastEnqueuedOffset: "9900",
      lastEnqueuedOnUtc: new Date(NOW - 1000),
      isEmpty: false,
    },
    {
      partitionId: "1",
      beginningSequenceNumber: -1,
      lastEnqueuedSequenceNumber: -1,
      lastEnqueuedOffset: "-1",
      lastEnqueuedOnUtc: new Date(0),
      isEmpty: true,
    },
  ],
  ownerships: [
    { partitionId: "0", ownerId: "worker-a", lastModifiedTimeInMs: NOW - 3000 },
    { partitionId: "1", ownerId: "", lastModifiedTimeInMs: NOW - 3000 },
  ],
  checkpoints: [{ partitionId: "0", sequenceNumber: 89, offset: "8900" }],
  readAtMs: NOW,
};

describe("status report", () => {
  const report = buildStatusReport(SNAPSHOT, SOURCE, 60_000);

  it("renders the table with owner, age, expiry, checkpoint, lag and totals", () => {
    const text = renderStatusText(report);
    expect(text).toMatch(/^0 +worker-a +3 s ago +no +89 +8900 +99 +10 +- +2026-01-01T11:59:59.000Z$/m);
    expect(text).toMatch(/^1 +\(relinquished\) +3 s ago +released +- +- +\(empty\) +0 +0 s +-$/m);
    expect(text).not.toContain("RETENTION LEFT");
    expect(text).toContain("owners: 1 (worker-a: 1 partitions)");
    expect(text).toContain("total lag: 10 events");
  });

  it("has a JSON document with ISO times, nulls for absent values and the totals", () => {
    const doc = JSON.parse(JSON.stringify(statusJson(report)));
    expect(doc).toMatchObject({
      fullyQualifiedNamespace: "127.0.0.1",
      eventHubName: "orders",
      consumerGroup: "$Default",
      readAt: "2026-01-01T12:00:00.000Z",
      totals: { owners: 1, totalLag: 10, partitionsPerOwner: { "worker-a": 1 } },
    });
    expect(doc.partitions[0]).toMatchObject({
      ownerId: "worker-a",
      expired: false,
      checkpoint: { sequenceNumber: 89, offset: "8900" },
      lag: 10,
    });
    expect(doc.partitions[1]).toMatchObject({
      ownerId: "",
      expired: true,
      checkpoint: null,
      lastEnqueuedAt: null,
    });
  });
});

describe("status report with the age lag", () => {
  const withAge: StatusSnapshot = {
    ...SNAPSHOT,
    oldestUnprocessed: {
      enqueuedTimeMs: new Map([["0", NOW - 90_500]]),
      problems: new Map([["1", "no event arrived in time"]]),
    },
  };
  const report = buildStatusReport(withAge, SOURCE, 60_000, 3_600_000);

  it("shows the age of the first event after the checkpoint and the retention left", () => {
    const text = renderStatusText(report);
    expect(text).toMatch(/^PARTITION .* LAG +OLDEST AGE +RETENTION LEFT +LAST ENQUEUED$/m);
    expect(text).toMatch(/^0 +worker-a .* 99 +10 +90 s +3509 s +2026-01-01T11:59:59.000Z$/m);
    expect(text).toContain("partition 1: oldest unprocessed event not read: no event arrived in time");
  });

  it("has the age figures in the JSON document", () => {
    const doc = JSON.parse(JSON.stringify(statusJson(report)));
    expect(doc.hubRetentionMs).toBe(3_600_000);
    expect(doc.partitions[0]).toMatchObject({
      oldestUnprocessedEnqueuedAt: "2026-01-01T11:58:29.500Z",
      oldestUnprocessedAgeSeconds: 90.5,
      retentionLeftSeconds: 3509.5,
      ageProblem: null,
    });
    expect(doc.partitions[1]).toMatchObject({
      oldestUnprocessedEnqueuedAt: null,
      oldestUnprocessedAgeSeconds: 0,
      retentionLeftSeconds: null,
    });
  });
});

describe("reset output", () => {
  const plan: ResetPlan = {
    target: { kind: "sequence", sequenceNumber: 50 },
    liveOwners: [],
    refused: false,
    entries: [
      {
        partitionId: "0",
        before: { sequenceNumber: 89, offset: "8900" },
        after: { sequenceNumber: 49, offset: "4900" },
        startSequenceNumber: 50,
      },
      {
        partitionId: "1",
        before: undefined,
        after: { sequenceNumber: -1, offset: "-1" },
        startSequenceNumber: 0,
      },
    ],
  };

  it("shows before → after per partition", () => {
    const text = renderResetPlan(plan);
    expect(text).toMatch(/^0 +seq 89 offset 8900 +→ +seq 49 offset 4900 +50$/m);
    expect(text).toMatch(/^1 +\(none\) +→ +seq -1 offset -1 +0$/m);
  });

  it("names owners and partitions when refusing", () => {
    const refused: ResetPlan = {
      ...plan,
      refused: true,
      entries: [],
      liveOwners: [{ partitionId: "3", ownerId: "worker-b", secondsSinceRenewal: 2 }],
    };
    const text = renderRefusal(refused);
    expect(text).toContain("nothing was written");
    expect(text).toContain("partition 3 is owned by worker-b (renewed 2 s ago)");
    expect(text).toContain("--force");
  });

  it("says exactly which partitions were written and which were not", () => {
    const error = new ConnectionError("blob storage at h refused (HTTP 403)");
    const none = { handoverRequestsRemoved: [], handoverRequestsLeft: [] };
    const outcome = { written: ["0"], failed: [{ partitionId: "1", error }], ...none };
    const text = renderResetOutcome(outcome);
    expect(text).toContain("PARTIAL RESET: written 0; NOT written 1");
    expect(text).toContain("partition 1 not reset: blob storage at h refused (HTTP 403)");
    expect(resetJson(SOURCE, plan, false, outcome)).toMatchObject({
      written: ["0"],
      failed: [{ partitionId: "1", error: "blob storage at h refused (HTTP 403)" }],
    });
    expect(renderResetOutcome({ written: ["0", "1"], failed: [], ...none })).toBe(
      "reset 2 partition(s): 0, 1",
    );
  });

  it("names the hand-over requests removed and those left behind", () => {
    const error = new ConnectionError("blob storage at h refused (HTTP 403)");
    const outcome = {
      written: ["0", "1"],
      failed: [],
      handoverRequestsRemoved: ["0"],
      handoverRequestsLeft: [{ partitionId: "1", error }],
    };
    const text = renderResetOutcome(outcome);
    expect(text).toContain("removed the hand-over requests of partition(s): 0");
    expect(text).toContain("hand-over request of partition 1 not removed (it expires by itself)");
    expect(resetJson(SOURCE, plan, false, outcome)).toMatchObject({
      handoverRequestsRemoved: ["0"],
      handoverRequestsLeft: [{ partitionId: "1", error: "blob storage at h refused (HTTP 403)" }],
    });
  });
});
