import { SpanStatusCode } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import type { EventHandler, HandlerContext } from "../../../../../src/handlers/contract.js";
import type { FailureHandler } from "../../../../../src/handlers/failure.js";
import { createPipeline } from "../../../../../src/handlers/pipeline.js";
import { silentLogger } from "../../../../../src/observability/logger.js";
import { type AttemptTracer, createAttemptTracer } from "../../../../../src/observability/tracing.js";
import {
  type AttemptContext,
  runWithAttempts,
  UnitAttempts,
  type UnitEnd,
  type UnitOwner,
} from "../../../../../src/worker/partition/attempts/attempts.js";
import { LATER } from "../../../../../src/worker/partition/now-or-later.js";
import type { WorkUnit } from "../../../../../src/worker/partition/ordering/scheduler.js";
import { fakeEvent } from "../../../handlers/events.js";

const options = { maxAttempts: 2, retryBaseDelayMs: 0, retryMaxDelayMs: 0, handlerTimeoutMs: 50 };

function unitOf(...handlers: EventHandler[]): WorkUnit {
  const steps = handlers.map((handler, i) => ({ name: `h${i}`, handler }));
  return { pipeline: createPipeline("p", steps), events: [fakeEvent(7)], lane: undefined };
}

function attemptContext(signal: AbortSignal): AttemptContext {
  const logger = silentLogger();
  return {
    base: { partitionId: "3", eventHubName: "hub", consumerGroup: "$Default", logger },
    signal,
    logger,
    random: () => 0,
  };
}

describe("runWithAttempts with a time limit", () => {
  it("gives every step the attempt's fields, also to a handler that spreads its context", async () => {
    const seen: HandlerContext[] = [];
    const unit = unitOf({
      async handle(_event, ctx) {
        seen.push({ ...ctx });
      },
    });
    const outcome = await runWithAttempts(unit, options, attemptContext(new AbortController().signal));
    expect(outcome).toEqual({ kind: "done", attempts: 1 });
    expect(seen[0]).toMatchObject({ partitionId: "3", eventHubName: "hub", pipeline: "p", attempt: 1 });
    expect(seen[0]?.signal).toBeInstanceOf(AbortSignal);
    expect(seen[0]?.signal.aborted).toBe(false);
  });

  it("fires the signal of an attempt that outlives its limit, read before or after the limit", async () => {
    const signals: AbortSignal[] = [];
    const unit = unitOf({
      handle(_event, ctx) {
        if (ctx.attempt === 1) signals.push(ctx.signal);
        // Attempt 2 reads its signal only once it has timed out.
        return new Promise<void>((resolve) => {
          if (ctx.attempt === 2) setTimeout(() => signals.push(ctx.signal), 80);
          setTimeout(resolve, 120);
        });
      },
    });
    const outcome = await runWithAttempts(unit, options, attemptContext(new AbortController().signal));
    expect(outcome.kind).toBe("exhausted");
    await expect.poll(() => signals.length).toBe(2);
    for (const signal of signals) {
      expect(signal.aborted).toBe(true);
      expect(String(signal.reason)).toContain("timed out after 50 ms");
    }
  });

  it("fires a signal read during the attempt when the partition's signal fires", async () => {
    const partition = new AbortController();
    let signal: AbortSignal | undefined;
    const unit = unitOf({
      handle(_event, ctx) {
        signal = ctx.signal;
        partition.abort(new Error("lost"));
        return new Promise<void>(() => {});
      },
    });
    const running = runWithAttempts(
      unit,
      { ...options, handlerTimeoutMs: 60_000 },
      attemptContext(partition.signal),
    );
    await expect.poll(() => signal?.aborted).toBe(true);
    expect(String(signal?.reason)).toContain("lost");
    void running;
  });

  it("does not start the next step once the partition's signal fired, without reading the signal", async () => {
    const partition = new AbortController();
    const ran: string[] = [];
    const unit = unitOf(
      {
        async handle() {
          ran.push("first");
          partition.abort(new Error("lost"));
        },
      },
      {
        async handle() {
          ran.push("second");
        },
      },
    );
    const outcome = await runWithAttempts(unit, options, attemptContext(partition.signal));
    expect(outcome.kind).toBe("aborted");
    expect(ran).toEqual(["first"]);
  });

  it("retries a synchronous handler that throws, and ends a synchronous one that succeeds, under a limit", async () => {
    let calls = 0;
    const failing = unitOf({
      handle() {
        calls += 1;
        throw new Error("sync failure");
      },
    });
    const failed = await runWithAttempts(failing, options, attemptContext(new AbortController().signal));
    expect(failed.kind).toBe("exhausted");
    expect(calls).toBe(2);
    expect(failed.kind === "exhausted" ? failed.error.message : "").toContain("sync failure");

    const partition = new AbortController();
    const contexts: HandlerContext[] = [];
    const ok = unitOf(
      {
        handle(_event, ctx) {
          contexts.push(ctx);
        },
      },
      {
        async handle(_event, ctx) {
          contexts.push(ctx);
        },
      },
    );
    const outcome = await runWithAttempts(ok, options, attemptContext(partition.signal));
    expect(outcome).toEqual({ kind: "done", attempts: 1 });
    // The attempt is over: a signal read now no longer follows the partition's.
    const signals = contexts.map((c) => c.signal);
    partition.abort(new Error("lost"));
    expect(signals.map((s) => s.aborted)).toEqual([false, false]);
  });

  it("counts the limit from the start of the attempt when a step goes asynchronous after synchronous work", async () => {
    const unit = unitOf(
      {
        handle() {
          const until = performance.now() + options.handlerTimeoutMs + 10;
          while (performance.now() < until) {
            // Synchronous work past the whole limit.
          }
        },
      },
      {
        handle() {
          return new Promise<void>((resolve) => setTimeout(resolve, 30));
        },
      },
    );
    const outcome = await runWithAttempts(
      unit,
      { ...options, maxAttempts: 1 },
      attemptContext(new AbortController().signal),
    );
    expect(outcome.kind).toBe("exhausted");
    expect(outcome.kind === "exhausted" ? outcome.error.message : "").toContain("timed out after 50 ms");
  });
});

/** A unit's attempts under a failure handler, as the processor runs them. */
function unitAttempts(
  handler: EventHandler,
  failureHandler: FailureHandler = { onExhausted: async () => "stop" },
  tracer?: AttemptTracer,
) {
  const attempts = new UnitAttempts({
    options: { maxAttempts: 2, retryBaseDelayMs: 0, retryMaxDelayMs: 0, handlerTimeoutMs: 1000 },
    context: { ...attemptContext(new AbortController().signal), ...(tracer === undefined ? {} : { tracer }) },
    failureHandler,
    isLost: () => false,
  });
  const unit = unitOf(handler);
  /** Runs the unit: its end when it ended synchronously, else a promise of what its owner is told. */
  const run = (): UnitEnd | Promise<UnitEnd> => {
    let told: (end: UnitEnd) => void = () => {
      throw new Error("the owner was told before run returned");
    };
    const owner: UnitOwner = {
      settled: (end, of) => {
        expect(of).toBe(unit);
        told(end);
      },
    };
    const now = attempts.run(unit, owner);
    if (now !== LATER) return now;
    return new Promise((resolve) => {
      told = resolve;
    });
  };
  return { run };
}

describe("UnitAttempts", () => {
  it("ends a unit whose handler returns synchronously at once, as done", () => {
    const { run } = unitAttempts({ handle() {} });
    const end = run();
    expect(end).not.toBeInstanceOf(Promise);
    expect(end).toMatchObject({ outcome: { kind: "done", attempts: 1 }, decision: "resolved" });
  });

  it("ends an asynchronous unit by telling its owner, later", async () => {
    const { run } = unitAttempts({ handle: async () => {} });
    const result = run();
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toMatchObject({ outcome: { kind: "done", attempts: 1 }, decision: "resolved" });
  });

  it("hands an exhausted unit to the failure handler: resolved completes it, stop stops the partition", async () => {
    const failing = {
      handle() {
        throw new Error("bad");
      },
    };
    const resolved = await unitAttempts(failing, { onExhausted: async () => "resolved" }).run();
    expect(resolved).toMatchObject({ outcome: { kind: "exhausted", attempts: 2 }, decision: "resolved" });
    expect(resolved.stopWith).toBeUndefined();

    const stopping = await unitAttempts(failing).run();
    expect(stopping.decision).toBe("stop");
    expect(stopping.stopWith?.message).toContain("bad");

    const throwing = await unitAttempts(failing, {
      onExhausted: async () => {
        throw new Error("handler broke");
      },
    }).run();
    expect(throwing.decision).toBe("stop");
    expect(throwing.stopWith?.message).toContain("bad");
  });
});

describe("UnitAttempts with tracing on", () => {
  /** A tracer over an unregistered provider: spans go to `exporter` only. */
  function traced() {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = createAttemptTracer({ tracer: provider.getTracer("unit") });
    const spans = () =>
      exporter.getFinishedSpans().map((s) => ({
        attempt: s.attributes["ehw.attempt"],
        status: s.status.code,
        events: s.events.filter((e) => e.name !== "exception").map((e) => [e.name, e.attributes]),
      }));
    return { tracer, spans };
  }
  const failing = {
    handle() {
      throw new Error("bad");
    },
  };

  it("records the retry on the failed attempt and the dead-letter reference on the last", async () => {
    const { tracer, spans } = traced();
    let openSpans = -1;
    const storing: FailureHandler = {
      async onExhausted(failure) {
        openSpans = spans().length;
        failure.onStored?.(["hub/$Default/3/7.json"]);
        return "resolved";
      },
    };
    const end = await unitAttempts(failing, storing, tracer).run();
    expect(end.decision).toBe("resolved");
    // The last attempt's span is still open while the failure handler decides.
    expect(openSpans).toBe(1);
    expect(spans()).toEqual([
      {
        attempt: 1,
        status: SpanStatusCode.ERROR,
        events: [["retry", { "ehw.retry.delay_ms": 0, "ehw.retry.next_attempt": 2 }]],
      },
      {
        attempt: 2,
        status: SpanStatusCode.ERROR,
        events: [["dead-lettered", { "ehw.dead_letter.references": ["hub/$Default/3/7.json"] }]],
      },
    ]);
  });

  it("records a skip, a stop with its reason, and a success with no event", async () => {
    const skipped = traced();
    await unitAttempts(failing, { onExhausted: async () => "skipped" }, skipped.tracer).run();
    expect(skipped.spans().at(-1)?.events).toEqual([["skipped", {}]]);

    const stopped = traced();
    const throwing: FailureHandler = {
      onExhausted: async () => {
        throw new Error("handler broke");
      },
    };
    await unitAttempts(failing, throwing, stopped.tracer).run();
    expect(stopped.spans().at(-1)?.events).toEqual([
      ["partition stopped", { "ehw.stop.reason": "the failure handler threw" }],
    ]);

    const fine = traced();
    await unitAttempts({ handle: async () => {} }, undefined, fine.tracer).run();
    expect(fine.spans()).toEqual([{ attempt: 1, status: SpanStatusCode.UNSET, events: [] }]);
  });
});
