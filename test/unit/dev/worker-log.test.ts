import { describe, expect, it } from "vitest";
import {
  applyWorkerLogEvent,
  initialWorkerLogState,
  parseWorkerLine,
  type WorkerLogState,
} from "../../../src/dev/worker-log.js";

function line(fields: Record<string, unknown>): string {
  return JSON.stringify({ level: 30, time: "2026-01-01T00:00:00.000Z", ...fields });
}

function replay(lines: Array<[string, "stdout" | "stderr"]>): WorkerLogState {
  let state = initialWorkerLogState();
  for (const [text, stream] of lines) {
    const event = parseWorkerLine(text, stream);
    if (event !== undefined) state = applyWorkerLogEvent(state, event);
  }
  return state;
}

describe("parseWorkerLine", () => {
  it("reads claims and releases by their partitionId and reason fields", () => {
    expect(
      parseWorkerLine(line({ partitionId: "3", reason: "claimed", msg: "partition claimed" }), "stdout"),
    ).toEqual({
      kind: "claimed",
      partitionId: "3",
      via: undefined,
    });
    expect(
      parseWorkerLine(line({ partitionId: "3", reason: "OwnershipLost", msg: "anything" }), "stdout"),
    ).toEqual({
      kind: "released",
      partitionId: "3",
      reason: "OwnershipLost",
    });
  });

  it("reads the status line, tolerating missing and odd fields", () => {
    const event = parseWorkerLine(
      line({
        msg: "worker status",
        state: "running",
        partitions: [
          {
            partitionId: "0",
            state: "running",
            inFlight: 3,
            queued: 10,
            processed: 1234,
            failed: 0,
            lastCheckpoint: 1200,
          },
          { partitionId: 1, inFlight: "many" },
          { noId: true },
          "junk",
        ],
      }),
      "stdout",
    );
    expect(event).toEqual({
      kind: "status",
      state: "running",
      partitions: [
        {
          partitionId: "0",
          state: "running",
          inFlight: 3,
          queued: 10,
          processed: 1234,
          failed: 0,
          lastCheckpoint: 1200,
        },
        {
          partitionId: "1",
          state: undefined,
          inFlight: undefined,
          queued: undefined,
          processed: undefined,
          failed: undefined,
          lastCheckpoint: undefined,
        },
      ],
    });
  });

  it("reads a checkpoint given as an object", () => {
    const event = parseWorkerLine(
      line({
        msg: "worker status",
        state: "running",
        partitions: [{ partitionId: "0", lastCheckpoint: { sequenceNumber: 7, offset: "70" } }],
      }),
      "stdout",
    );
    expect(event?.kind === "status" && event.partitions[0]?.lastCheckpoint).toBe(7);
  });

  it("recognises subscribing, draining and errors", () => {
    expect(parseWorkerLine(line({ msg: "event hub reachable; subscribing" }), "stdout")).toEqual({
      kind: "subscribed",
    });
    expect(parseWorkerLine(line({ msg: "draining", deadlineMs: 5000 }), "stdout")).toEqual({
      kind: "draining",
    });
    expect(
      parseWorkerLine(
        line({ level: 50, msg: "start failed", err: { message: "no such handler" } }),
        "stdout",
      ),
    ).toEqual({
      kind: "error",
      message: "start failed: no such handler",
    });
  });

  it("keeps plain stderr text as an error and ignores other lines", () => {
    expect(parseWorkerLine("ehw: --handler: cannot load ./x.js", "stderr")).toEqual({
      kind: "error",
      message: "ehw: --handler: cannot load ./x.js",
    });
    expect(parseWorkerLine("plain stdout text", "stdout")).toBeUndefined();
    expect(parseWorkerLine("{not json", "stdout")).toBeUndefined();
    expect(parseWorkerLine("", "stderr")).toBeUndefined();
    expect(parseWorkerLine(line({ msg: "checkpoint written", partitionId: "1" }), "stdout")).toBeUndefined();
  });
});

describe("applyWorkerLogEvent", () => {
  it("tracks partitions through claims and releases", () => {
    const state = replay([
      [line({ msg: "event hub reachable; subscribing" }), "stdout"],
      [line({ partitionId: "0", reason: "claimed" }), "stdout"],
      [line({ partitionId: "1", reason: "claimed", via: "handover" }), "stdout"],
      [line({ partitionId: "0", reason: "OwnershipLost" }), "stdout"],
    ]);
    expect(state.subscribed).toBe(true);
    expect([...state.partitions]).toEqual(["1"]);
    // How each claim got its partition stays known after the partition left (for redeliveries).
    expect([...state.claims]).toEqual([
      ["0", undefined],
      ["1", "handover"],
    ]);
  });

  it("lets a status line replace the partition set", () => {
    const state = replay([
      [line({ partitionId: "0", reason: "claimed" }), "stdout"],
      [line({ msg: "worker status", state: "running", partitions: [{ partitionId: "5" }] }), "stdout"],
    ]);
    expect([...state.partitions]).toEqual(["5"]);
    expect(state.status?.state).toBe("running");
  });

  it("does not change the state it was given", () => {
    const before = initialWorkerLogState();
    const after = applyWorkerLogEvent(before, { kind: "claimed", partitionId: "2", via: "new" });
    expect(before.partitions.size).toBe(0);
    expect(after.partitions.has("2")).toBe(true);
  });

  it("remembers the last error and the start of draining", () => {
    const state = replay([
      ["first problem", "stderr"],
      [line({ msg: "draining" }), "stdout"],
      ["second problem", "stderr"],
    ]);
    expect(state.draining).toBe(true);
    expect(state.lastError).toBe("second problem");
  });
});
