import { describe, expect, it } from "vitest";
import {
  CheckpointPolicy,
  isCheckpointDue,
  msUntilCheckpointDue,
} from "../../../../../src/worker/partition/progress/policy.js";

const options = { checkpointEvery: 3, checkpointIntervalMs: 1000, maxBatchSize: 10 };

describe("checkpoint policy", () => {
  it("is never due when nothing is new, however long it has been", () => {
    expect(isCheckpointDue({ nowMs: 1e9, lastCheckpointAtMs: 0, uncheckpointedCount: 0 }, options)).toBe(
      false,
    );
    expect(msUntilCheckpointDue({ nowMs: 1e9, lastCheckpointAtMs: 0, uncheckpointedCount: 0 }, options)).toBe(
      undefined,
    );
    const state = { nowMs: 1e9, lastCheckpointAtMs: 0, uncheckpointedCount: 0, caughtUp: true };
    expect(isCheckpointDue(state, options)).toBe(false);
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

  it("is due at once, before N and T, once caught up", () => {
    const state = { nowMs: 10, lastCheckpointAtMs: 0, uncheckpointedCount: 1 };
    expect(isCheckpointDue({ ...state, caughtUp: false }, options)).toBe(false);
    expect(isCheckpointDue({ ...state, caughtUp: true }, options)).toBe(true);
    expect(msUntilCheckpointDue({ ...state, caughtUp: true }, options)).toBe(0);
  });

  it("counts the interval from the last recorded checkpoint", () => {
    const policy = new CheckpointPolicy(options, 1000);
    expect(policy.isDue(1999, 1)).toBe(false);
    expect(policy.isDue(2000, 1)).toBe(true);
    policy.markCheckpointed(2000, 5);
    expect(policy.lastCheckpointAtMs).toBe(2000);
    expect(policy.isDue(2500, 1)).toBe(false);
    expect(policy.msUntilDue(2500, 1)).toBe(500);
    expect(policy.isDue(2500, 3)).toBe(true);
  });
});

describe("checkpoint policy: a drained backlog", () => {
  it("never sees a partition caught up under steady low traffic, where every batch is short", () => {
    const policy = new CheckpointPolicy(options, 0);
    let last = -1;
    for (const size of [1, 3, 9, 0, 2, 9, 0, 0, 5]) {
      last += size;
      expect(policy.batchReceived(size, last < 0 ? undefined : last, undefined)).toBe(false);
    }
    expect(policy.caughtUpAt).toBeUndefined();
    expect(policy.isDue(10, 2, last)).toBe(false);
    expect(policy.msUntilDue(10, 2, last)).toBe(990);
  });

  it("is due once the prefix reaches the end of the first short batch after a full one", () => {
    const policy = new CheckpointPolicy(options, 0);
    expect(policy.batchReceived(10, 9, undefined)).toBe(false);
    expect(policy.batchReceived(10, 19, undefined)).toBe(false);
    expect(policy.batchReceived(4, 23, undefined)).toBe(true);
    expect(policy.caughtUpAt).toBe(23);
    // Event 23 or one before it is still running: N-or-T as before.
    expect(policy.isDue(10, 2, 22)).toBe(false);
    expect(policy.msUntilDue(10, 2, 22)).toBe(990);
    expect(policy.isDue(10, 2, 23)).toBe(true);
    expect(policy.msUntilDue(10, 2, 23)).toBe(0);
    // A short batch after a short one changes nothing.
    expect(policy.batchReceived(2, 25, undefined)).toBe(false);
    expect(policy.caughtUpAt).toBe(23);
  });

  it("treats an empty batch after a full one as caught up at the last event tracked", () => {
    const policy = new CheckpointPolicy(options, 0);
    policy.batchReceived(12, 11, undefined);
    expect(policy.batchReceived(0, 11, 5)).toBe(true);
    expect(policy.caughtUpAt).toBe(11);
    expect(policy.isDue(10, 1, 11)).toBe(true);
  });

  it("is not caught up when the batch's end is checkpointed already, or nothing was tracked", () => {
    const policy = new CheckpointPolicy(options, 0);
    policy.batchReceived(10, 9, undefined);
    expect(policy.batchReceived(0, 9, 9)).toBe(false);
    policy.batchReceived(10, undefined, undefined);
    expect(policy.batchReceived(0, undefined, undefined)).toBe(false);
    expect(policy.caughtUpAt).toBeUndefined();
  });

  it("never sees a partition caught up with checkpointOnCatchUp false", () => {
    const policy = new CheckpointPolicy({ ...options, checkpointOnCatchUp: false }, 0);
    policy.batchReceived(10, 9, undefined);
    expect(policy.batchReceived(3, 12, undefined)).toBe(false);
    expect(policy.caughtUpAt).toBeUndefined();
    expect(policy.isDue(10, 1, 12)).toBe(false);
  });

  it("forgets the caught-up batch once a checkpoint reaches it, or when the store is ahead", () => {
    const policy = new CheckpointPolicy(options, 0);
    policy.batchReceived(10, 9, undefined);
    policy.batchReceived(3, 12, undefined);
    policy.markCheckpointed(10, 11);
    expect(policy.caughtUpAt).toBe(12);
    policy.markCheckpointed(20, 12);
    expect(policy.caughtUpAt).toBeUndefined();
    // Later events of steady traffic wait for N or T again.
    expect(policy.isDue(30, 1, 13)).toBe(false);

    policy.batchReceived(10, 22, 12);
    policy.batchReceived(1, 23, 12);
    expect(policy.caughtUpAt).toBe(23);
    policy.forgetCaughtUp();
    expect(policy.isDue(40, 1, 23)).toBe(false);
  });
});
