import { describe, expect, it } from "vitest";
import { HandlerFailedError } from "../../../src/common/errors.js";
import type { HandlerContext } from "../../../src/handlers/contract.js";
import { createPipeline, type PipelineRunContext } from "../../../src/handlers/pipeline.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { fakeEvent } from "./events.js";

function runContext(signal: AbortSignal): PipelineRunContext {
  return {
    partitionId: "1",
    eventHubName: "hub",
    consumerGroup: "$Default",
    logger: silentLogger(),
    attempt: 2,
    signal,
  };
}

describe("createPipeline", () => {
  it("runs synchronous and asynchronous steps in order, each with its own context fields", async () => {
    const order: string[] = [];
    const seen: HandlerContext[] = [];
    const pipeline = createPipeline("p", [
      {
        name: "sync",
        handler: {
          handle: (_e, ctx) => {
            order.push("sync");
            seen.push({ ...ctx });
          },
        },
      },
      {
        name: "async",
        handler: {
          handle: async (_e, ctx) => {
            await Promise.resolve();
            order.push("async");
            seen.push({ ...ctx });
          },
        },
      },
      { name: "last", handler: { handle: () => void order.push("last") } },
    ]);
    const signal = new AbortController().signal;
    await pipeline.run([fakeEvent(1)], runContext(signal));
    expect(order).toEqual(["sync", "async", "last"]);
    expect(seen[0]).toMatchObject({ partitionId: "1", pipeline: "p", attempt: 2 });
    // A spread context keeps the signal.
    expect(seen[0]?.signal).toBe(signal);
    expect(seen[1]?.signal).toBe(signal);
  });

  it("fails with the step's error whether the handler throws or rejects", async () => {
    for (const handle of [
      () => {
        throw new Error("thrown");
      },
      () => Promise.reject(new Error("rejected")),
    ]) {
      const pipeline = createPipeline("p", [{ name: "bad", handler: { handle } }]);
      const running = pipeline.run([fakeEvent(1)], runContext(new AbortController().signal));
      await expect(running).rejects.toBeInstanceOf(HandlerFailedError);
      await expect(running).rejects.toThrow(/handler "bad" of pipeline "p" failed .*(thrown|rejected)/);
    }
  });

  it("gives a lazily built signal as an own enumerable property, read only when asked", async () => {
    let built = 0;
    const controller = new AbortController();
    const ctx: PipelineRunContext = {
      ...runContext(controller.signal),
      get signal() {
        built += 1;
        return controller.signal;
      },
      throwIfAborted: () => {},
    };
    const seen: HandlerContext[] = [];
    const pipeline = createPipeline("p", [{ name: "h", handler: { handle: (_e, c) => void seen.push(c) } }]);
    await pipeline.run([fakeEvent(1)], ctx);
    expect(built).toBe(0);
    expect(Object.keys(seen[0]!)).toContain("signal");
    expect({ ...seen[0]! }.signal).toBe(controller.signal);
    expect(built).toBe(1);
  });

  it("starts synchronously: nothing to await when every handler returned without a promise", async () => {
    const ran: string[] = [];
    const ctx = runContext(new AbortController().signal);
    const sync = createPipeline("p", [
      { name: "a", handler: { handle: () => void ran.push("a") } },
      { name: "b", handler: { handle: () => void ran.push("b") } },
    ]);
    expect(sync.start?.([fakeEvent(1)], ctx)).toBeUndefined();
    expect(ran).toEqual(["a", "b"]);

    const throwing = createPipeline("p", [
      {
        name: "bad",
        handler: {
          handle: () => {
            throw new Error("boom");
          },
        },
      },
    ]);
    expect(() => throwing.start?.([fakeEvent(1)], ctx)).toThrow(HandlerFailedError);

    const mixed = createPipeline("p", [
      { name: "a", handler: { handle: async () => void ran.push("async") } },
      { name: "b", handler: { handle: () => void ran.push("after") } },
    ]);
    const pending = mixed.start?.([fakeEvent(1)], ctx);
    expect(pending).toBeInstanceOf(Promise);
    expect(ran).toEqual(["a", "b", "async"]);
    await pending;
    expect(ran).toEqual(["a", "b", "async", "after"]);
  });
});
