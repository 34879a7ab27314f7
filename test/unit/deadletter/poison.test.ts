import { describe, expect, it } from "vitest";
import { EhwError } from "../../../src/common/errors.js";
import { policyFailureHandler } from "../../../src/deadletter/failure-handler.js";
import {
  eventBodyBytes,
  guardPipeline,
  PoisonEventError,
  poisonProblem,
  withPoisonChecks,
} from "../../../src/deadletter/poison.js";
import type { EventHandler } from "../../../src/handlers/contract.js";
import { createPipeline, type Pipeline } from "../../../src/handlers/pipeline.js";
import type { HandlerRegistry } from "../../../src/handlers/registry.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { type AttemptOptions, runWithAttempts } from "../../../src/worker/partition/attempts/attempts.js";
import { runContext } from "../handlers/events.js";
import { RecordingWriter, receivedEvent } from "./fakes.js";

const OPTIONS: AttemptOptions = {
  maxAttempts: 4,
  retryBaseDelayMs: 1,
  retryMaxDelayMs: 2,
  handlerTimeoutMs: 0,
};

function counting(handle: EventHandler["handle"]): { handler: EventHandler; calls: () => number } {
  let calls = 0;
  return {
    handler: {
      handle: async (event, ctx) => {
        calls += 1;
        await handle?.(event, ctx);
      },
    },
    calls: () => calls,
  };
}

async function exhaust(pipeline: Pipeline, body: unknown, options: Partial<AttemptOptions> = {}) {
  const event = receivedEvent(9, { body });
  const outcome = await runWithAttempts(
    { pipeline, events: [event], lane: undefined },
    { ...OPTIONS, ...options },
    {
      base: { partitionId: "0", eventHubName: "hub", consumerGroup: "cg", logger: silentLogger() },
      signal: new AbortController().signal,
      logger: silentLogger(),
    },
  );
  return { event, outcome };
}

/** Runs an exhausted outcome through the deadletter policy and returns the stored error. */
async function storedError(pipeline: Pipeline, body: unknown, options: Partial<AttemptOptions> = {}) {
  const { event, outcome } = await exhaust(pipeline, body, options);
  if (outcome.kind !== "exhausted") throw new Error(`expected exhausted, got ${outcome.kind}`);
  const writer = new RecordingWriter();
  const handler = policyFailureHandler({
    pipelines: [{ name: pipeline.name, handlers: ["h"] }],
    writer,
    eventHubName: "hub",
    consumerGroup: "cg",
    logger: silentLogger(),
  });
  const decision = await handler.onExhausted({
    event,
    events: [event],
    error: outcome.error,
    attempts: outcome.attempts,
    partitionId: "0",
    pipeline: pipeline.name,
  });
  expect(decision).toBe("resolved");
  return { attempts: outcome.attempts, doc: writer.docs[0] };
}

describe("eventBodyBytes", () => {
  it("counts binary bodies by length and JSON bodies by their UTF-8 text", () => {
    expect(eventBodyBytes({ body: Buffer.alloc(10) })).toBe(10);
    expect(eventBodyBytes({ body: new Uint8Array(3) })).toBe(3);
    expect(eventBodyBytes({ body: { a: "é" } })).toBe(Buffer.byteLength('{"a":"é"}'));
    expect(eventBodyBytes({ body: "abc" })).toBe(5);
    expect(eventBodyBytes({ body: undefined })).toBe(0);
  });
});

describe("poisonProblem", () => {
  it("rejects a body over maxEventBytes, naming the sizes", () => {
    const problem = poisonProblem(
      receivedEvent(3, { body: Buffer.alloc(11) }),
      { maxEventBytes: 10 },
      "p",
      "0",
    );
    expect(problem).toBeInstanceOf(PoisonEventError);
    expect(problem?.reason).toBe("too-large");
    expect(problem?.retriable).toBe(false);
    expect(problem?.message).toMatch(/11 bytes, maxEventBytes 10/);
    expect(
      poisonProblem(receivedEvent(3, { body: Buffer.alloc(10) }), { maxEventBytes: 10 }, "p", "0"),
    ).toBeUndefined();
  });

  it("rejects bytes the SDK could not decode when the pipeline expects JSON", () => {
    const problem = poisonProblem(
      receivedEvent(3, { body: Buffer.from("{oops") }),
      { expectJson: true },
      "p",
      "0",
    );
    expect(problem?.reason).toBe("not-json");
    expect(problem?.message).toMatch(/is not JSON/);
    expect(
      poisonProblem(receivedEvent(3, { body: { ok: 1 } }), { expectJson: true }, "p", "0"),
    ).toBeUndefined();
    expect(poisonProblem(receivedEvent(3, { body: Buffer.from("x") }), {}, "p", "0")).toBeUndefined();
  });
});

describe("poison input reaches the policy with a clear reason", () => {
  it("a too-large event fails at once, without running the handler or retrying", async () => {
    const { handler, calls } = counting(async () => {});
    const pipeline = guardPipeline(createPipeline("p", [{ name: "h", handler }]), { maxEventBytes: 4 });
    const { attempts, doc } = await storedError(pipeline, Buffer.alloc(5));
    expect(calls()).toBe(0);
    expect(attempts).toBe(1);
    expect(doc?.error).toMatchObject({ name: "PoisonEventError", code: "POISON_EVENT", retriable: false });
    expect(doc?.error.message).toMatch(/too large .* 5 bytes, maxEventBytes 4/);
  });

  it("a guarded pipeline keeps the synchronous start of the pipeline it guards", () => {
    let handled = 0;
    const calls = () => handled;
    const handler: EventHandler = {
      handle: () => {
        handled += 1;
      },
    };
    const pipeline = guardPipeline(createPipeline("p", [{ name: "h", handler }]), { maxEventBytes: 64 });
    const ctx = runContext();
    expect(pipeline.start?.([receivedEvent(1, { body: "small" })], ctx)).toBeUndefined();
    expect(calls()).toBe(1);
    expect(() => pipeline.start?.([receivedEvent(2, { body: Buffer.alloc(65) })], ctx)).toThrow(
      /maxEventBytes 64/,
    );
    expect(calls()).toBe(1);
  });

  it("a body that is not JSON fails at once under expectJson", async () => {
    const { handler, calls } = counting(async () => {});
    const pipeline = guardPipeline(createPipeline("p", [{ name: "h", handler }]), { expectJson: true });
    const { attempts, doc } = await storedError(pipeline, Buffer.from("<xml/>"));
    expect(calls()).toBe(0);
    expect(attempts).toBe(1);
    expect(doc?.bodyEncoding).toBe("base64");
    expect(doc?.error.message).toMatch(/is not JSON/);
  });

  it("a handler throwing on parse is retried, then reaches the policy with the parser's reason", async () => {
    const { handler, calls } = counting(async (event) => {
      JSON.parse(Buffer.from(event.body as Uint8Array).toString("utf8"));
    });
    const { attempts, doc } = await storedError(
      createPipeline("p", [{ name: "h", handler }]),
      Buffer.from("{x"),
    );
    expect(calls()).toBe(4);
    expect(attempts).toBe(4);
    expect(doc?.error.message).toMatch(/handler "h" of pipeline "p" failed .* attempt 4/);
    expect(doc?.error.causes[0]?.name).toBe("SyntaxError");
  });

  it("a handler throwing PoisonEventError skips the remaining attempts", async () => {
    const { handler, calls } = counting(async () => {
      throw new PoisonEventError("unparseable", "order has no id");
    });
    const { attempts, doc } = await storedError(createPipeline("p", [{ name: "h", handler }]), { x: 1 });
    expect(calls()).toBe(1);
    expect(attempts).toBe(1);
    expect(doc?.error).toMatchObject({ retriable: false });
    expect(doc?.error.causes[0]).toMatchObject({ name: "PoisonEventError", message: "order has no id" });
  });

  it("any EhwError with retriable false skips the remaining attempts", async () => {
    const { handler, calls } = counting(async () => {
      throw new EhwError("BAD_INPUT", "cannot work with this", { retriable: false });
    });
    const { attempts } = await storedError(createPipeline("p", [{ name: "h", handler }]), { x: 1 });
    expect(calls()).toBe(1);
    expect(attempts).toBe(1);
  });

  it("a thrown non-Error value is described by its type and JSON text", async () => {
    const { handler } = counting(async () => {
      throw { status: 503, detail: "upstream" };
    });
    const { attempts, doc } = await storedError(createPipeline("p", [{ name: "h", handler }]), { x: 1 });
    expect(attempts).toBe(4);
    expect(doc?.error.name).toBe("HandlerFailedError");
    expect(doc?.error.causes).toEqual([
      { name: "thrown object", message: '{"status":503,"detail":"upstream"}' },
    ]);
  });

  it("a handler that never resolves ends in the policy with 'timed out after N ms'", async () => {
    const handler: EventHandler = { handle: () => new Promise<void>(() => {}) };
    const { attempts, doc } = await storedError(
      createPipeline("p", [{ name: "h", handler }]),
      { x: 1 },
      { handlerTimeoutMs: 30, maxAttempts: 2 },
    );
    expect(attempts).toBe(2);
    expect(doc?.error.message).toMatch(/timed out after 30 ms/);
  });
});

describe("withPoisonChecks", () => {
  it("guards routed and default pipelines and leaves close to the original", async () => {
    const { handler, calls } = counting(async () => {});
    const plain = createPipeline("plain", [{ name: "h", handler }]);
    const small = createPipeline("small", [{ name: "h", handler }]);
    let closed = 0;
    const registry: HandlerRegistry = {
      pipelines: new Map([
        ["plain", plain],
        ["small", small],
      ]),
      defaultPipeline: small,
      route: (event) => (event.properties?.to === "plain" ? plain : small),
      close: async () => {
        closed += 1;
      },
    };
    const guarded = withPoisonChecks(registry, {
      handlers: [],
      pipelines: [
        { name: "plain", handlers: ["h"] },
        { name: "small", handlers: ["h"], maxEventBytes: 2 },
      ],
      routes: { property: "to", map: {}, defaultPipeline: "small" },
    });
    expect(guarded.pipelines.get("plain")).toBe(plain);
    const big = receivedEvent(1, { body: Buffer.alloc(3) });
    const routed = guarded.route(big);
    expect(routed.name).toBe("small");
    expect(guarded.defaultPipeline).toBe(guarded.pipelines.get("small"));
    const ctx = {
      partitionId: "0",
      eventHubName: "h",
      consumerGroup: "cg",
      attempt: 1,
      logger: silentLogger(),
      signal: new AbortController().signal,
    };
    await expect(routed.run([big], ctx)).rejects.toBeInstanceOf(PoisonEventError);
    await guarded
      .route(receivedEvent(2, { body: Buffer.alloc(3), properties: { to: "plain" } }))
      .run([receivedEvent(2, { body: Buffer.alloc(3) })], ctx);
    expect(calls()).toBe(1);
    await guarded.close();
    expect(closed).toBe(1);
  });
});
