import { describe, expect, it } from "vitest";
import type { CheckpointWriteOutcome, PartitionObserver } from "../../../../../src/observability/observer.js";
import { waitFor } from "../../../../helpers/wait-for.js";
import { events, type GatedHandler, harness, written } from "../../../processor/harness.js";
import { checkpointAt } from "../../../processor/memory-store.js";

/** An observer that counts checkpoint write outcomes and ignores the rest. */
function countingObserver(): { observer: PartitionObserver; outcomes: CheckpointWriteOutcome[] } {
  const outcomes: CheckpointWriteOutcome[] = [];
  const observer: PartitionObserver = {
    received() {},
    handlerAttempt() {},
    unitEnded() {},
    checkpointWritten(outcome) {
      outcomes.push(outcome);
    },
  };
  return { observer, outcomes };
}

describe("PartitionProgress behind a stored checkpoint", () => {
  it("asks again at most once per N events, and writes once past it", async () => {
    const { observer, outcomes } = countingObserver();
    const { processor, handler, inner, store } = await harness({
      processing: { checkpointEvery: 10, checkpointIntervalMs: 60_000 },
      observer,
    });
    // The store already holds a checkpoint far ahead of what this processor will complete.
    inner.checkpoints.set("0", checkpointAt("0", 1000));
    await store.listCheckpoints("ns", "hub", "$default");
    (handler as GatedHandler).autoRelease = true;
    for (let from = 0; from < 30; from += 10) await processor.enqueue(events(from, 10));
    await waitFor(() => (handler as GatedHandler).ends.length === 30);
    // Past the stored checkpoint the writes resume.
    await processor.enqueue(events(1001, 10));
    await waitFor(() => written(inner).length > 0, { timeoutMs: 5000, what: "a checkpoint past 1000" });
    expect(written(inner)[0]).toBeGreaterThan(1000);
    // A refused candidate is not retried on every completion or by a timer at 0 ms: at most one
    // refusal per N completed events.
    expect(outcomes.filter((o) => o === "refused").length).toBeLessThanOrEqual(3);
    await processor.close("test");
  });
});
