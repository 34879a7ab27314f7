import { appendFile, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConfigError, EhwError } from "../../../src/common/errors.js";
import {
  createLedgerHandler,
  type LedgerEntry,
  parseLedger,
  readLedgerFile,
} from "../../../src/handlers/builtins/ledger.js";
import type { EventHandler, HandlerContext, InitContext } from "../../../src/handlers/contract.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { fakeEvent, runContext } from "./events.js";

let dir: string;
const opened: EventHandler[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ehw-ledger-"));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((h) => h.close?.()));
  await rm(dir, { recursive: true, force: true });
});

function initCtx(options: Record<string, unknown>): InitContext {
  return { name: "ledger", logger: silentLogger(), options, workerId: "w-7" };
}

async function openLedger(options: Record<string, unknown>): Promise<EventHandler> {
  const handler = createLedgerHandler(options, initCtx(options));
  await handler.init?.(initCtx(options));
  opened.push(handler);
  return handler;
}

const ctx = (partitionId = "3"): HandlerContext => ({ ...runContext({ partitionId }), pipeline: "p" });

describe("ledger built-in", () => {
  it("requires options.file", () => {
    expect(() => createLedgerHandler({}, initCtx({}))).toThrow(ConfigError);
    expect(() => createLedgerHandler({}, initCtx({}))).toThrow(/handlers\.ledger\.options\.file: required/);
  });

  it("has written the line by the time handle resolves, creating the parent directory", async () => {
    const file = join(dir, "nested", "deeper", "{workerId}.jsonl");
    const handler = await openLedger({ file });
    vi.spyOn(Date, "now").mockReturnValue(1_234);
    try {
      await handler.handle!(fakeEvent(42, { partitionKey: "cust-1", properties: { id: "order-42" } }), ctx());
    } finally {
      vi.restoreAllMocks();
    }
    const text = await readFile(join(dir, "nested", "deeper", "w-7.jsonl"), "utf8");
    expect(text).toBe('{"p":"3","s":42,"o":"4200","k":"cust-1","id":"order-42","w":"w-7","t":1234}\n');
  });

  it("records a missing id as null and uses options.idProperty", async () => {
    const file = join(dir, "l.jsonl");
    const handler = await openLedger({ file, idProperty: "orderId" });
    await handler.handle!(fakeEvent(1, { properties: { orderId: 17 } }), ctx());
    await handler.handle!(fakeEvent(2, { properties: undefined }), ctx());
    const entries = await readLedgerFile(file);
    expect(entries.map((e) => [e.s, e.id, e.k])).toEqual([
      [1, 17, null],
      [2, null, null],
    ]);
  });

  it("loses no line under concurrent handle and handleBatch calls", async () => {
    const file = join(dir, "l.jsonl");
    const handler = await openLedger({ file });
    const events = Array.from({ length: 500 }, (_, i) => fakeEvent(i));
    await Promise.all([
      ...events.slice(0, 250).map((e) => handler.handle!(e, ctx("0"))),
      handler.handleBatch!(events.slice(250), ctx("1")),
    ]);
    const entries = await readLedgerFile(file);
    expect(entries).toHaveLength(500);
    expect(new Set(entries.map((e) => e.s)).size).toBe(500);
    expect(entries.filter((e) => e.p === "1").map((e) => e.s)).toEqual(
      events.slice(250).map((e) => e.sequenceNumber),
    );
  });

  it("issues one write for everything appended in the same tick", async () => {
    const file = join(dir, "l.jsonl");
    const handler = await openLedger({ file });
    const probe = await open(join(dir, "probe"), "w");
    const prototype = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => unknown };
    await probe.close();
    const write = vi.spyOn(prototype, "write");
    try {
      await Promise.all(Array.from({ length: 100 }, (_, i) => handler.handle!(fakeEvent(i), ctx())));
      expect(write).toHaveBeenCalledTimes(1);
    } finally {
      write.mockRestore();
    }
    expect(await readLedgerFile(file)).toHaveLength(100);
  });

  it("writes lines appended during a write right after it, and close flushes", async () => {
    const file = join(dir, "l.jsonl");
    const handler = await openLedger({ file });
    const first = handler.handle!(fakeEvent(1), ctx());
    await new Promise((resolve) => setImmediate(resolve));
    const second = handler.handle!(fakeEvent(2), ctx());
    await handler.close!();
    await Promise.all([first, second]);
    expect((await readLedgerFile(file)).map((e) => e.s)).toEqual([1, 2]);
    await expect(handler.handle!(fakeEvent(3), ctx())).rejects.toBeInstanceOf(EhwError);
  });

  it("cuts a torn last line left by a killed process before appending", async () => {
    const file = join(dir, "l.jsonl");
    await writeFile(file, '{"p":"0","s":1,"o":"1","k":null,"id":null,"w":"w","t":1}\n{"p":"0","s":2,"o');
    const handler = await openLedger({ file });
    await handler.handle!(fakeEvent(2), ctx("0"));
    expect((await readLedgerFile(file)).map((e) => e.s)).toEqual([1, 2]);
  });
});

describe("readLedgerFile", () => {
  const line = (s: number): string =>
    `${JSON.stringify({ p: "0", s, o: String(s), k: null, id: `e-${s}`, w: "w", t: s })}\n`;

  it("reads every complete line and ignores a torn last line", async () => {
    const file = join(dir, "l.jsonl");
    await writeFile(file, line(1) + line(2));
    await appendFile(file, line(3).slice(0, 20));
    const entries: LedgerEntry[] = await readLedgerFile(file);
    expect(entries.map((e) => e.id)).toEqual(["e-1", "e-2"]);
  });

  it("reads an empty file as no entries", () => {
    expect(parseLedger("")).toEqual([]);
  });

  it("reports a malformed middle line with file and line number", async () => {
    const file = join(dir, "bad.jsonl");
    await writeFile(file, `${line(1)}{"p":"0","s":2,"o\n${line(3)}`);
    const err = await readLedgerFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhwError);
    expect((err as EhwError).code).toBe("LEDGER_CORRUPT");
    expect((err as Error).message).toContain(`${file}:2: not JSON`);
  });

  it("reports JSON lines that are not ledger entries", () => {
    expect(() => parseLedger(`${line(1)}{"p":0}\n`, "x.jsonl")).toThrow(/x\.jsonl:2: not a ledger entry/);
  });
});
