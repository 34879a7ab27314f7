import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { EhwError, HandlerFailedError, HandlerLoadError } from "../../../src/common/errors.js";
import type { CompiledHandlersConfig } from "../../../src/config/handlers.js";
import { createPipeline } from "../../../src/handlers/pipeline.js";
import { loadHandlerRegistry, routeEvent } from "../../../src/handlers/registry.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { fakeEvent, runContext } from "./events.js";

const FIXTURES = resolve(import.meta.dirname, "../../fixtures/handlers");
const deps = { logger: silentLogger(), workerId: "w1" };

type Call = { tag: string; op: string; seq?: number; seqs?: number[]; pipeline?: string; attempt?: number };

function recorder(name: string, calls: Call[], extra: Record<string, unknown> = {}) {
  return {
    name,
    source: { kind: "module" as const, specifier: join(FIXTURES, "factory.mjs"), exportName: "default" },
    options: { calls, tag: name, ...extra },
  };
}

function fixture(name: string, file: string, calls: Call[]) {
  return {
    name,
    source: { kind: "module" as const, specifier: join(FIXTURES, file), exportName: "default" },
    options: { calls },
  };
}

function config(
  handlers: CompiledHandlersConfig["handlers"],
  pipelines: CompiledHandlersConfig["pipelines"],
  routes: Partial<CompiledHandlersConfig["routes"]> = {},
): CompiledHandlersConfig {
  return {
    handlers,
    pipelines,
    routes: { property: undefined, map: {}, defaultPipeline: pipelines[0]?.name ?? "default", ...routes },
  };
}

describe("routeEvent", () => {
  const routes = {
    property: "type",
    map: { order: "orders", "7": "sevens", true: "flags" },
    defaultPipeline: "rest",
  };

  it("routes by the application property and falls back to the default", () => {
    expect(routeEvent(routes, { type: "order" })).toBe("orders");
    expect(routeEvent(routes, { type: 7 })).toBe("sevens");
    expect(routeEvent(routes, { type: true })).toBe("flags");
    expect(routeEvent(routes, { type: "refund" })).toBe("rest");
    expect(routeEvent(routes, { other: "order" })).toBe("rest");
    expect(routeEvent(routes, undefined)).toBe("rest");
    expect(routeEvent(routes, { type: { nested: 1 } })).toBe("rest");
  });

  it("does not route on inherited object keys", () => {
    expect(routeEvent(routes, { type: "constructor" })).toBe("rest");
    expect(routeEvent(routes, { type: "__proto__" })).toBe("rest");
  });

  it("sends everything to the default pipeline without a property", () => {
    expect(routeEvent({ property: undefined, map: {}, defaultPipeline: "d" }, { type: "order" })).toBe("d");
  });
});

describe("loadHandlerRegistry", () => {
  it("inits each used handler once, routes events and runs handlers in pipeline order", async () => {
    const calls: Call[] = [];
    const registry = await loadHandlerRegistry(
      config(
        [recorder("a", calls), recorder("b", calls), recorder("unused", calls)],
        [
          { name: "orders", handlers: ["b", "a"] },
          { name: "rest", handlers: ["a"] },
        ],
        { property: "type", map: { order: "orders" }, defaultPipeline: "rest" },
      ),
      deps,
    );
    expect(calls.filter((c) => c.op === "init").map((c) => c.tag)).toEqual(["a", "b"]);
    calls.length = 0;

    const order = fakeEvent(5, { properties: { type: "order" } });
    const pipeline = registry.route(order);
    expect(pipeline.name).toBe("orders");
    expect(pipeline.kind).toBe("batch");
    await pipeline.run([order], runContext({ attempt: 2 }));
    expect(calls).toEqual([
      { tag: "b", op: "batch", seqs: [5], pipeline: "orders" },
      { tag: "a", op: "batch", seqs: [5], pipeline: "orders" },
    ]);
    expect(registry.route(fakeEvent(6, { properties: { type: "other" } })).name).toBe("rest");
    expect(registry.route(fakeEvent(7, { properties: undefined }))).toBe(registry.defaultPipeline);

    await registry.close();
    expect(calls.filter((c) => c.op === "close").map((c) => c.tag)).toEqual(["b", "a"]);
  });

  it("makes a pipeline with any event-only handler an event pipeline", async () => {
    const calls: Call[] = [];
    const registry = await loadHandlerRegistry(
      config(
        [recorder("a", calls), fixture("e", "event-only.mjs", calls)],
        [{ name: "p", handlers: ["a", "e"] }],
      ),
      deps,
    );
    const pipeline = registry.defaultPipeline;
    expect(pipeline.kind).toBe("event");
    await pipeline.run([fakeEvent(1)], runContext({ attempt: 3 }));
    expect(calls.filter((c) => c.op === "handle")).toEqual([
      { tag: "a", op: "handle", seq: 1, pipeline: "p", attempt: 3 },
    ]);
    await registry.close();
  });

  it("rejects a pipeline mixing event-only and batch-only handlers, naming them, and closes what it loaded", async () => {
    const calls: Call[] = [];
    const err = await loadHandlerRegistry(
      config(
        [recorder("a", calls), fixture("e", "event-only.mjs", calls), fixture("b", "batch-only.mjs", calls)],
        [{ name: "mixed", handlers: ["a", "e", "b"] }],
      ),
      deps,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerLoadError);
    expect((err as Error).message).toMatch(
      /pipeline "mixed" mixes .*only handle \(e\).*only handleBatch \(b\)/,
    );
    expect(calls.filter((c) => c.op === "close").map((c) => c.tag)).toEqual(["a"]);
  });

  it("closes the handlers initialised before a failing init, and reports the init failure", async () => {
    const calls: Call[] = [];
    const err = await loadHandlerRegistry(
      config(
        [recorder("a", calls), fixture("bad", "init-fails.mjs", calls), recorder("c", calls)],
        [{ name: "p", handlers: ["a", "bad", "c"] }],
      ),
      deps,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerLoadError);
    expect((err as Error).message).toMatch(/handler "bad": init failed: cannot reach the database/);
    expect(calls.map((c) => `${c.tag}:${c.op}`)).toEqual(["a:init", "a:close"]);
  });

  it("calls every close even when some fail, and throws one error naming them", async () => {
    const calls: Call[] = [];
    const registry = await loadHandlerRegistry(
      config(
        [
          recorder("a", calls, { failClose: true }),
          recorder("b", calls),
          recorder("c", calls, { failClose: true }),
        ],
        [{ name: "p", handlers: ["a", "b", "c"] }],
      ),
      deps,
    );
    const err = await registry.close().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhwError);
    expect((err as EhwError).code).toBe("HANDLER_CLOSE_FAILED");
    expect((err as Error).message).toMatch(
      /2 handler\(s\) failed to close: c: c cannot close; a: a cannot close/,
    );
    expect(((err as Error).cause as AggregateError).errors).toHaveLength(2);
    expect(calls.filter((c) => c.op === "close").map((c) => c.tag)).toEqual(["c", "b", "a"]);
    // A second close neither calls the handlers again nor forgets the failure.
    await expect(registry.close()).rejects.toBe(err);
    expect(calls.filter((c) => c.op === "close")).toHaveLength(3);
  });
});

describe("createPipeline", () => {
  it("stops at the failing handler and says which one failed", async () => {
    const ran: string[] = [];
    const step = (name: string, fail = false) => ({
      name,
      handler: {
        handle() {
          ran.push(name);
          if (fail) throw new Error(`${name} broke`);
        },
      },
    });
    const pipeline = createPipeline("p", [step("first"), step("second", true), step("third")]);
    const err = await pipeline.run([fakeEvent(9)], runContext({ attempt: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerFailedError);
    const failure = err as HandlerFailedError;
    expect(failure.message).toMatch(
      /handler "second" of pipeline "p" failed on partition 0 at sequence number 9, attempt 2: second broke/,
    );
    expect(failure.context).toMatchObject({
      pipeline: "p",
      handler: "second",
      sequenceNumber: 9,
      attempt: 2,
    });
    expect(failure.retriable).toBe(true);
    expect((failure.cause as Error).message).toBe("second broke");
    expect(ran).toEqual(["first", "second"]);
  });

  it("keeps a handler's own non-retriable verdict", async () => {
    const pipeline = createPipeline("p", [
      {
        name: "strict",
        handler: {
          handle() {
            throw new EhwError("BAD_EVENT", "malformed", { retriable: false });
          },
        },
      },
    ]);
    const err = await pipeline.run([fakeEvent(1)], runContext()).catch((e: unknown) => e);
    expect((err as HandlerFailedError).retriable).toBe(false);
  });

  it("names a thrown non-Error value by its content", async () => {
    const pipeline = createPipeline("p", [
      {
        name: "thrower",
        handler: {
          handle() {
            throw { status: 503 };
          },
        },
      },
    ]);
    const err = await pipeline.run([fakeEvent(1)], runContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerFailedError);
    expect((err as HandlerFailedError).message).toContain('{"status":503}');
    expect((err as HandlerFailedError).cause).toEqual({ status: 503 });
  });

  it("does not start further handlers once the signal fired", async () => {
    const controller = new AbortController();
    const ran: string[] = [];
    const pipeline = createPipeline("p", [
      {
        name: "first",
        handler: {
          handle() {
            ran.push("first");
            controller.abort(new Error("ownership lost"));
          },
        },
      },
      { name: "second", handler: { handle: () => void ran.push("second") } },
    ]);
    await expect(pipeline.run([fakeEvent(1)], runContext({ signal: controller.signal }))).rejects.toThrow(
      "ownership lost",
    );
    expect(ran).toEqual(["first"]);
  });

  it("refuses an event pipeline run with other than one event, and runs a batch pipeline with none as a no-op", async () => {
    const seen: number[] = [];
    const both = {
      handle: () => void seen.push(-1),
      handleBatch: (events: { sequenceNumber: number }[]) => void seen.push(events.length),
    };
    const eventPipeline = createPipeline("e", [{ name: "x", handler: { handle: both.handle } }]);
    await expect(eventPipeline.run([fakeEvent(1), fakeEvent(2)], runContext())).rejects.toThrow(
      /exactly one event, got 2/,
    );
    const batchPipeline = createPipeline("b", [{ name: "x", handler: both }]);
    await batchPipeline.run([], runContext());
    await batchPipeline.run([fakeEvent(1), fakeEvent(2)], runContext());
    expect(seen).toEqual([2]);
  });

  it("gives each handler a logger scoped to the pipeline and handler", async () => {
    const bindings: unknown[] = [];
    const pipeline = createPipeline("p", [
      { name: "h", handler: { handle: (_e, ctx) => void bindings.push(ctx.logger.bindings()) } },
    ]);
    await pipeline.run([fakeEvent(1)], runContext());
    expect(bindings).toEqual([{ pipeline: "p", handler: "h" }]);
  });
});
