import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { compileHandlersConfig, type RawHandlersOptions } from "../../../src/config/handlers.js";
import { readLedgerFile } from "../../../src/handlers/builtins/ledger.js";
import { type HandlerRegistry, loadHandlerRegistry } from "../../../src/handlers/registry.js";
import { fakeEvent, runContext } from "./events.js";

const EXAMPLES = resolve(import.meta.dirname, "../../../examples");

function capture(): { lines: Array<Record<string, unknown>>; logger: pino.Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: "debug" }, stream) };
}

describe("examples/worker.config.json", () => {
  let dir: string | undefined;
  let registry: HandlerRegistry | undefined;
  afterEach(async () => {
    await registry?.close();
    registry = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("loads the example handlers and audits an order through the routed pipeline", async () => {
    const file = JSON.parse(
      await readFile(join(EXAMPLES, "worker.config.json"), "utf8"),
    ) as RawHandlersOptions;
    dir = await mkdtemp(join(tmpdir(), "ehw-example-"));
    const ledgerOptions = file.handlers?.ledger?.options;
    expect(ledgerOptions?.file).toBe("./.ehw/ledger/{workerId}.jsonl");
    // Keep the test's ledger out of the examples directory.
    const raw: RawHandlersOptions = {
      ...file,
      handlers: {
        ...file.handlers,
        ledger: { builtin: "ledger", options: { ...ledgerOptions, file: join(dir, "{workerId}.jsonl") } },
      },
    };
    const config = compileHandlersConfig(raw, EXAMPLES);
    const { lines, logger } = capture();
    registry = await loadHandlerRegistry(config, { logger, workerId: "w-ex" });

    const order = fakeEvent(11, {
      body: { orderId: "o-11", total: 2500, currency: "EUR" },
      properties: { type: "order", id: "o-11" },
    });
    const pipeline = registry.route(order);
    expect(pipeline.name).toBe("orders");
    expect(pipeline.kind).toBe("batch");
    await pipeline.run([order], runContext({ partitionId: "4", logger }));

    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: "order over threshold",
        orderId: "o-11",
        total: 2500,
        pipeline: "orders",
      }),
    );
    const entries = await readLedgerFile(join(dir, "w-ex.jsonl"));
    expect(entries).toEqual([expect.objectContaining({ p: "4", s: 11, id: "o-11", w: "w-ex" })]);

    const refund = fakeEvent(12, {
      body: JSON.stringify({ orderId: "o-9", total: 900, currency: "EUR" }),
      properties: { type: "refund" },
    });
    const refunds = registry.route(refund);
    expect(refunds.kind).toBe("event");
    await refunds.run([refund], runContext({ partitionId: "4", logger }));
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "large refund", orderId: "o-9", maxRefund: 500 }),
    );
    expect(registry.route(fakeEvent(13, { properties: { type: "other" } })).name).toBe("default");
  });
});
