import { describe, expect, it } from "vitest";
import {
  isCheckpointDue,
  msUntilCheckpointDue,
} from "../../../../../src/worker/partition/progress/checkpoint-timer.js";
import { CheckpointPolicy } from "../../../../../src/worker/partition/progress/progress.js";

const options = { checkpointEvery: 3, checkpointIntervalMs: 1000 };

describe("checkpoint policy", () => {
  it("is never due when nothing is new, however long it has been", () => {
    expect(isCheckpointDue({ nowMs: 1e9, lastCheckpointAtMs: 0, uncheckpointedCount: 0 }, options)).toBe(
      false,
    );
    expect(msUntilCheckpointDue({ nowMs: 1e9, lastCheckpointAtMs: 0, uncheckpointedCount: 0 }, options)).toBe(
      undefined,
    );
  });

  it("is due after N completions even before T", () => {
    expect(isCheckpointDue({ nowMs: 10, lastCheckpointAtMs: 0, uncheckpointedCount: 2 }, options)).toBe(
      false,
    );
    expect(isCheckpointDue({ nowMs: 10, lastCheckpointAtMs: 0, uncheckpointedCount: 3 }, options)).toBe(true);
  });

  it("is due after T when there is something new, before N", () => {
    const state = { lastCheckpointAtMs: 500, uncheckpointedCount: 1 };
    expect(isCheckpointDue({ ...state, nowMs: 1499 }, options)).toBe(false);
    expect(isCheckpointDue({ ...state, nowMs: 1500 }, options)).toBe(true);
    expect(msUntilCheckpointDue({ ...state, nowMs: 1200 }, options)).toBe(300);
    expect(msUntilCheckpointDue({ ...state, nowMs: 2000 }, options)).toBe(0);
  });

  it("counts the interval from the last recorded checkpoint", () => {
    const policy = new CheckpointPolicy(options, 1000);
    expect(policy.isDue(1999, 1)).toBe(false);
    expect(policy.isDue(2000, 1)).toBe(true);
    policy.markCheckpointed(2000);
    expect(policy.lastCheckpointAtMs).toBe(2000);
    expect(policy.isDue(2500, 1)).toBe(false);
    expect(policy.msUntilDue(2500, 1)).toBe(500);
    expect(policy.isDue(2500, 3)).toBe(true);
  });
});
