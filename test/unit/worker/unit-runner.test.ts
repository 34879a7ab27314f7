import { describe, expect, it } from "vitest";
import { CompletedPrefixTracker } from "../../../src/checkpoint/tracker.js";
import type { EventHandler } from "../../../src/handlers/contract.js";
import { createPipeline } from "../../../src/handlers/pipeline.js";
import { silentLogger } from "../../../src/observability/logger.js";
import type { FailureHandler } from "../../../src/worker/failure.js";
import type { WorkUnit } from "../../../src/worker/partition/ordering/units.js";
import { type UnitOwner, UnitRunner, type UnitRunnerHost } from "../../../src/worker/unit-runner.js";
import { fakeEvent } from "../handlers/events.js";

function setup(handler: EventHandler, failureHandler: FailureHandler = { onExhausted: async () => "stop" }) {
  const logger = silentLogger();
  const tracker = new CompletedPrefixTracker();
  const counts = { processed: 0, failed: 0 };
  const stopped: Error[] = [];
  const host: UnitRunnerHost = {
    partitionId: "0",
    logger,
    tracker,
    failureHandler,
    observer: undefined,
    attemptOptions: { maxAttempts: 2, retryBaseDelayMs: 0, retryMaxDelayMs: 0, handlerTimeoutMs: 1000 },
    attemptContext: {
      base: { partitionId: "0", eventHubName: "hub", consumerGroup: "$Default", logger },
      signal: new AbortController().signal,
      logger,
      random: () => 0,
    },
    isLost: () => false,
    countProcessed: (n) => {
      counts.processed += n;
    },
    countFailed: (n) => {
      counts.failed += n;
    },
    stop: (error) => {
      stopped.push(error);
    },
  };
  const pipeline = createPipeline("p", [{ name: "h", handler }]);
  const unitOf = (seq: number): WorkUnit => ({ pipeline, events: [fakeEvent(seq)], lane: undefined });
  const runner = new UnitRunner(host);
  /** Runs a unit: its answer when it ended synchronously, else a promise of what its owner is told. */
  const run = (unit: WorkUnit): boolean | Promise<boolean> => {
    let told: (complete: boolean) => void = () => {
      throw new Error("the owner was told before run returned");
    };
    const owner: UnitOwner = { unitEnded: (_unit, complete) => told(complete) };
    const now = runner.run(unit, owner);
    if (now !== undefined) return now;
    return new Promise((resolve) => {
      told = resolve;
    });
  };
  return { run, tracker, counts, stopped, unitOf };
}

describe("UnitRunner", () => {
  it("ends a unit whose handler returns synchronously at once, completing its event", () => {
    const { run, tracker, counts, unitOf } = setup({ handle() {} });
    tracker.track(1, "1");
    expect(run(unitOf(1))).toBe(true);
    expect(tracker.checkpointCandidate()?.sequenceNumber).toBe(1);
    expect(counts.processed).toBe(1);
  });

  it("ends an asynchronous unit by telling its owner, later", async () => {
    const { run, tracker, unitOf } = setup({ handle: async () => {} });
    tracker.track(1, "1");
    const result = run(unitOf(1));
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toBe(true);
    expect(tracker.inFlight).toBe(0);
  });

  it("hands an exhausted unit to the failure handler: resolved completes it, stop stops the partition", async () => {
    const failing = {
      handle() {
        throw new Error("bad");
      },
    };
    const resolved = setup(failing, { onExhausted: async () => "resolved" });
    resolved.tracker.track(1, "1");
    expect(await resolved.run(resolved.unitOf(1))).toBe(true);
    expect(resolved.counts).toEqual({ processed: 0, failed: 1 });
    expect(resolved.tracker.inFlight).toBe(0);

    const stopping = setup(failing);
    stopping.tracker.track(1, "1");
    expect(await stopping.run(stopping.unitOf(1))).toBe(false);
    expect(stopping.stopped.map((e) => e.message)).toEqual([expect.stringContaining("bad")]);
    expect(stopping.tracker.inFlight).toBe(1);
  });

  it("stops the partition instead of throwing when recording the end breaks an invariant", () => {
    const { run, stopped, unitOf } = setup({ handle() {} });
    // Never tracked: completing it is an invariant violation.
    expect(run(unitOf(5))).toBe(false);
    expect(stopped.map((e) => e.message)).toEqual([expect.stringContaining("not tracked")]);
  });
});
