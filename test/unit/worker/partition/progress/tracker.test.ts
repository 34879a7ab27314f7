import { describe, expect, it } from "vitest";
import { EhwError } from "../../../../../src/common/errors.js";
import { seededRandom } from "../../../../../src/drill/schedule.js";
import { CompletedPrefixTracker } from "../../../../../src/worker/partition/progress/tracker.js";

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe("CompletedPrefixTracker", () => {
  it("has no candidate before anything completes", () => {
    const t = new CompletedPrefixTracker();
    expect(t.checkpointCandidate()).toBeUndefined();
    t.track(5, "50");
    expect(t.checkpointCandidate()).toBeUndefined();
    expect(t.incomplete).toBe(1);
  });

  it("never moves past a running event, then jumps over everything completed behind it", () => {
    const t = new CompletedPrefixTracker();
    t.track(1, "o1");
    t.track(2, "o2");
    t.track(4, "o4"); // gaps are allowed
    t.complete(2);
    t.complete(4);
    expect(t.checkpointCandidate()).toBeUndefined();
    t.complete(1);
    expect(t.checkpointCandidate()).toEqual({ sequenceNumber: 4, offset: "o4" });
    expect(t.incomplete).toBe(0);
    expect(t.uncheckpointedCount).toBe(3);
  });

  it("rejects tracking out of order and completing unknown events", () => {
    const t = new CompletedPrefixTracker();
    t.track(3, "a");
    expect(() => t.track(3, "b")).toThrow(EhwError);
    expect(() => t.track(2, "b")).toThrow(/increasing order/);
    expect(() => t.complete(9)).toThrow(/not tracked/);
    t.complete(3);
    expect(() => t.complete(3)).toThrow(/already complete/);
  });

  it("finds events behind a running one: a gap's number, a twice-completed one and an unknown one are refused", () => {
    const t = new CompletedPrefixTracker();
    for (const s of [10, 12, 14, 16, 18]) t.track(s, `o${s}`);
    expect(() => t.complete(13)).toThrow(/not tracked/);
    expect(() => t.complete(20)).toThrow(/not tracked/);
    t.complete(16);
    expect(() => t.complete(16)).toThrow(/already complete/);
    t.complete(14);
    t.complete(10);
    expect(t.checkpointCandidate()).toEqual({ sequenceNumber: 10, offset: "o10" });
    t.complete(12);
    expect(t.checkpointCandidate()).toEqual({ sequenceNumber: 16, offset: "o16" });
    expect(t.incomplete).toBe(1);
    expect(() => t.complete(10)).toThrow(/not tracked/);
  });

  it("counts what joined the prefix since the checkpoint, including completions during the write", () => {
    const t = new CompletedPrefixTracker();
    for (let s = 0; s < 5; s += 1) t.track(s, String(s));
    t.complete(0);
    t.complete(1);
    const pending = t.pendingCheckpoint();
    expect(pending).toEqual({ sequenceNumber: 1, offset: "1" });
    t.complete(2); // completes while the checkpoint write is in progress
    t.markCheckpointed(1);
    expect(t.uncheckpointedCount).toBe(1);
    expect(t.pendingCheckpoint()).toEqual({ sequenceNumber: 2, offset: "2" });
    t.markCheckpointed(2);
    expect(t.uncheckpointedCount).toBe(0);
    expect(t.pendingCheckpoint()).toBeUndefined();
  });

  it("names the oldest incomplete event, which holds the checkpoint back", () => {
    const t = new CompletedPrefixTracker();
    expect(t.oldestIncomplete()).toBeUndefined();
    t.track(7, "o7");
    t.track(9, "o9");
    t.complete(9);
    expect(t.oldestIncomplete()).toEqual({ sequenceNumber: 7, offset: "o7" });
    t.complete(7);
    expect(t.oldestIncomplete()).toBeUndefined();
    expect(t.completedCount).toBe(2);
  });

  it("gives the enqueued time of the oldest event not completed, whatever order they complete in", () => {
    const t = new CompletedPrefixTracker();
    t.track(1, "o1", new Date(1_000));
    t.track(2, "o2", new Date(2_000));
    t.track(3, "o3", new Date(3_000));
    t.complete(2);
    expect(t.oldestIncompleteEnqueuedTime()?.getTime()).toBe(1_000);
    t.complete(1);
    expect(t.oldestIncompleteEnqueuedTime()?.getTime()).toBe(3_000);
    t.complete(3);
    expect(t.oldestIncompleteEnqueuedTime()).toBeUndefined();
  });

  it("counts completions during a write of a candidate read with checkpointCandidate()", () => {
    const t = new CompletedPrefixTracker();
    for (let s = 0; s < 4; s += 1) t.track(s, String(s));
    t.complete(0);
    const candidate = t.checkpointCandidate();
    t.complete(1);
    t.complete(2);
    t.markCheckpointed(candidate?.sequenceNumber ?? -1);
    expect(t.uncheckpointedCount).toBe(2);
  });

  it("ignores a checkpoint that would move backwards", () => {
    const t = new CompletedPrefixTracker();
    t.track(0, "0");
    t.track(1, "1");
    t.complete(0);
    t.complete(1);
    t.markCheckpointed(1);
    t.markCheckpointed(0);
    expect(t.lastCheckpointedSequenceNumber).toBe(1);
    expect(t.pendingCheckpoint()).toBeUndefined();
  });

  it("property: random completion orders never yield a candidate past an incomplete event", () => {
    for (let seed = 1; seed <= 200; seed += 1) {
      const random = seededRandom(seed);
      const t = new CompletedPrefixTracker();
      const seqs: number[] = [];
      let seq = 0;
      for (let i = 0; i < 60; i += 1) {
        seq += 1 + Math.floor(random() * 3);
        seqs.push(seq);
        t.track(seq, `o${seq}`);
      }
      const incomplete = new Set(seqs);
      let previous = -1;
      for (const s of shuffle(seqs, random)) {
        t.complete(s);
        incomplete.delete(s);
        const candidate = t.checkpointCandidate();
        const lowestIncomplete = Math.min(...incomplete);
        if (candidate) {
          expect(candidate.sequenceNumber).toBeLessThan(lowestIncomplete);
          expect(candidate.offset).toBe(`o${candidate.sequenceNumber}`);
          expect(candidate.sequenceNumber).toBeGreaterThanOrEqual(previous);
          // The candidate is the highest tracked event below the lowest incomplete one.
          const expected = Math.max(...seqs.filter((x) => x < lowestIncomplete));
          expect(candidate.sequenceNumber).toBe(expected);
          previous = candidate.sequenceNumber;
        } else {
          expect(lowestIncomplete).toBe(seqs[0]);
        }
        expect(t.incomplete).toBe(incomplete.size);
      }
      expect(t.checkpointCandidate()?.sequenceNumber).toBe(seqs[seqs.length - 1]);
    }
  });

  it("keeps memory proportional to the in-flight window over a long run", () => {
    const t = new CompletedPrefixTracker();
    for (let s = 0; s < 100_000; s += 1) {
      t.track(s, String(s));
      if (s >= 10) t.complete(s - 10);
    }
    expect(t.incomplete).toBe(10);
    // The internal queue holds at most the in-flight window plus one compaction batch.
    const queue = (t as unknown as { queue: unknown[]; head: number }).queue;
    expect(queue.length).toBeLessThan(10 + 1024 + 1);
    expect(t.checkpointCandidate()?.sequenceNumber).toBe(100_000 - 11);
  });
});
