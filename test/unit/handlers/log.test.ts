import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { bodySize, createLogHandler } from "../../../src/handlers/builtins/log.js";
import type { HandlerContext, InitContext } from "../../../src/handlers/contract.js";
import { fakeEvent, runContext } from "./events.js";

function capture(): { lines: Array<Record<string, unknown>>; logger: pino.Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: "trace" }, stream) };
}

function initCtx(options: Record<string, unknown>, logger: pino.Logger): InitContext {
  return { name: "audit-log", logger, options, workerId: "w1" };
}

const ctx: HandlerContext = { ...runContext({ partitionId: "2" }), pipeline: "orders" };

describe("log built-in", () => {
  it("logs one line per event with its coordinates and body size, without the body", async () => {
    const { lines, logger } = capture();
    const handler = createLogHandler({}, initCtx({}, logger));
    const event = fakeEvent(8, { body: "héllo", partitionKey: "k1", properties: { id: "evt-8" } });
    await handler.handle!(event, ctx);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: "event",
      pipeline: "orders",
      partitionId: "2",
      sequenceNumber: 8,
      offset: "800",
      partitionKey: "k1",
      enqueuedTime: event.enqueuedTimeUtc.toISOString(),
      id: "evt-8",
      bodyBytes: 6,
    });
    expect(lines[0]).not.toHaveProperty("body");
  });

  it("includes the body only when asked, at the configured level, once per event of a batch", async () => {
    const { lines, logger } = capture();
    const options = { level: "warn", body: true };
    const handler = createLogHandler(options, initCtx(options, logger));
    await handler.handleBatch!(
      [fakeEvent(1, { body: Buffer.from("a") }), fakeEvent(2, { body: { x: 1 } })],
      ctx,
    );
    expect(lines.map((l) => [l.level, l.body, l.bodyBytes])).toEqual([
      [40, "a", 1],
      [40, { x: 1 }, 7],
    ]);
  });

  it.each([
    [{ level: "loud" }, /options\.level: must be one of trace, debug, info, warn, error, fatal/],
    [{ body: "yes" }, /options\.body: must be true or false/],
    [{ idProperty: "" }, /options\.idProperty: must be a non-empty string/],
  ])("rejects options %j", (options, message) => {
    const { logger } = capture();
    expect(() => createLogHandler(options, initCtx(options, logger))).toThrow(ConfigError);
    expect(() => createLogHandler(options, initCtx(options, logger))).toThrow(message);
  });

  it("measures bodies as bytes, text or JSON", () => {
    expect(bodySize(undefined)).toBe(0);
    expect(bodySize(new Uint8Array(5))).toBe(5);
    expect(bodySize("€")).toBe(3);
    expect(bodySize([1, 2])).toBe(5);
  });
});
