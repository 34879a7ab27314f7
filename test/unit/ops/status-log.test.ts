import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startStatusLog, statusLineFields } from "../../../src/ops/status-log.js";
import type { WorkerStatus } from "../../../src/worker/lifecycle.js";

function status(processed: number): Pick<WorkerStatus, "state" | "partitions"> {
  return {
    state: "running",
    partitions: [
      {
        partitionId: "0",
        state: "running",
        inFlight: 2,
        queued: 5,
        processed,
        failed: 1,
        lastCheckpoint: { sequenceNumber: 41, offset: "4100" },
        oldestIncompleteEnqueuedTimeMs: 1_700_000_000_000,
      },
      {
        partitionId: "1",
        state: "stopped",
        inFlight: 0,
        queued: 0,
        processed: 0,
        failed: 0,
        lastCheckpoint: undefined,
        oldestIncompleteEnqueuedTimeMs: null,
      },
    ],
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("statusLineFields", () => {
  it("keeps the contract fields and writes a missing checkpoint as null", () => {
    expect(statusLineFields(status(9))).toEqual({
      state: "running",
      partitions: [
        {
          partitionId: "0",
          state: "running",
          inFlight: 2,
          queued: 5,
          processed: 9,
          failed: 1,
          lastCheckpoint: { sequenceNumber: 41, offset: "4100" },
          oldestIncompleteEnqueuedTimeMs: 1_700_000_000_000,
        },
        {
          partitionId: "1",
          state: "stopped",
          inFlight: 0,
          queued: 0,
          processed: 0,
          failed: 0,
          lastCheckpoint: null,
          oldestIncompleteEnqueuedTimeMs: null,
        },
      ],
    });
  });
});

describe("startStatusLog", () => {
  it("logs one 'worker status' line per interval at info until stopped", async () => {
    vi.useFakeTimers();
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ level: "info" }, sink);
    let processed = 0;
    const stop = startStatusLog({ source: { status: () => status(++processed) }, logger, intervalMs: 1000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(lines).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2001);
    stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(lines).toHaveLength(3);
    const last = lines[2] as {
      msg: string;
      level: number;
      state: string;
      partitions: Array<{ processed: number }>;
    };
    expect(last.msg).toBe("worker status");
    expect(last.level).toBe(30);
    expect(last.state).toBe("running");
    expect(last.partitions[0]?.processed).toBe(3);
  });
});
