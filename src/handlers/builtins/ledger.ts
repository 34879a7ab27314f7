import { type FileHandle, mkdir, open, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { ConfigError, EhwError } from "../../common/errors.js";
import type { EventHandler, HandlerContext, InitContext, ReceivedEventData } from "../contract.js";

/** Options of the `ledger` built-in (under `handlers.<name>.options`). */
export interface LedgerHandlerOptions {
  /**
   * File the lines are appended to; required. `{workerId}` is replaced by the worker's id, so that
   * several workers sharing one config write one file each. Relative paths resolve against the
   * config file's directory. The parent directory is created when missing.
   */
  file: string;
  /** Application property recorded as `id`; default "id". */
  idProperty?: string;
  /** Also `fdatasync` after each write, to survive power loss and not only a killed process; default false. */
  fsync?: boolean;
}

/** One ledger line: which event was processed, by whom, when. */
export interface LedgerEntry {
  /** Partition id. */
  p: string;
  /** Sequence number. */
  s: number;
  /** Offset. */
  o: string;
  /** Partition key, or null. */
  k: string | null;
  /** Value of the id application property, or null when the event had none. */
  id: unknown;
  /** Worker id. */
  w: string;
  /** Time the handler ran, epoch milliseconds. */
  t: number;
}

function compileLedgerOptions(
  raw: Record<string, unknown>,
  ctx: InitContext,
): Required<LedgerHandlerOptions> {
  const setting = `handlers.${ctx.name}.options`;
  const { file, idProperty = "id", fsync = false } = raw;
  if (typeof file !== "string" || file === "") {
    throw new ConfigError(
      `${setting}.file: required by the ledger built-in: the path of the file to append to`,
      {
        context: { setting: `${setting}.file` },
      },
    );
  }
  if (typeof idProperty !== "string" || idProperty === "") {
    throw new ConfigError(`${setting}.idProperty: must be a non-empty string`, { context: { setting } });
  }
  if (typeof fsync !== "boolean") {
    throw new ConfigError(`${setting}.fsync: must be true or false`, { context: { setting } });
  }
  return { file: file.replaceAll("{workerId}", ctx.workerId), idProperty, fsync };
}

/** Formats one ledger line (with its newline), keys in the documented order. */
export function ledgerLine(
  event: ReceivedEventData,
  partitionId: string,
  workerId: string,
  idProperty: string,
  now: number,
): string {
  const entry: LedgerEntry = {
    p: partitionId,
    s: event.sequenceNumber,
    o: event.offset,
    k: event.partitionKey ?? null,
    id: event.properties?.[idProperty] ?? null,
    w: workerId,
    t: now,
  };
  return `${JSON.stringify(entry)}\n`;
}

/**
 * Cuts an unterminated last line left by a process killed mid-write. That event's handler never
 * resolved, so it was never checkpointed and will be written again; keeping the fragment would
 * make the next line appended after it unreadable.
 */
async function truncateTornTail(file: string): Promise<void> {
  const fh = await open(file, "r+").catch(() => undefined);
  if (fh === undefined) return;
  try {
    const { size } = await fh.stat();
    const chunk = Buffer.alloc(4096);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await fh.read(chunk, 0, end - start, start);
      const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (nl >= 0) {
        if (start + nl + 1 < size) await fh.truncate(start + nl + 1);
        return;
      }
      end = start;
    }
    if (size > 0) await fh.truncate(0);
  } finally {
    await fh.close();
  }
}

/** Appends lines to one file, coalescing everything appended in the same tick into one write. */
export class LedgerWriter {
  private fh: FileHandle | undefined;
  private pending: { lines: string[]; done: Promise<void> } | undefined;
  private last: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly file: string,
    private readonly fsync = false,
  ) {}

  /** Creates the parent directory, repairs a torn tail, and opens the file for appending. */
  async open(): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    await truncateTornTail(this.file);
    this.fh = await open(this.file, "a");
  }

  /** Resolves once the lines were handed to the OS (the `write` completed), in append order. */
  append(lines: string[]): Promise<void> {
    if (this.closed || this.fh === undefined) {
      return Promise.reject(new EhwError("LEDGER_CLOSED", `ledger ${this.file} is not open`));
    }
    if (this.pending === undefined) {
      const batch = { lines: [] as string[], done: Promise.resolve() };
      const previous = this.last;
      batch.done = (async () => {
        await new Promise((resolve) => setImmediate(resolve));
        // One write at a time keeps lines whole and in order; appends arriving meanwhile join this batch.
        await previous.catch(() => undefined);
        this.pending = undefined;
        await this.write(batch.lines.join(""));
      })();
      this.pending = batch;
      this.last = batch.done;
    }
    this.pending.lines.push(...lines);
    return this.pending.done;
  }

  private async write(text: string): Promise<void> {
    const fh = this.fh;
    if (fh === undefined) throw new EhwError("LEDGER_CLOSED", `ledger ${this.file} is not open`);
    let data = Buffer.from(text);
    while (data.length > 0) {
      const { bytesWritten } = await fh.write(data);
      data = data.subarray(bytesWritten);
    }
    if (this.fsync) await fh.datasync();
  }

  /** Waits for every appended line to be written, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.last.catch(() => undefined);
    await this.fh?.close();
    this.fh = undefined;
  }
}

/**
 * The `ledger` built-in: appends one JSON line per processed event to `options.file`, resolving
 * `handle`/`handleBatch` only after the write completed, so that a line exists for every event the
 * worker may have checkpointed. Crash drills read the files with {@link readLedgerFile}.
 */
export function createLedgerHandler(rawOptions: Record<string, unknown>, initCtx: InitContext): EventHandler {
  const options = compileLedgerOptions(rawOptions, initCtx);
  const writer = new LedgerWriter(options.file, options.fsync);
  const lineFor = (event: ReceivedEventData, ctx: HandlerContext): string =>
    ledgerLine(event, ctx.partitionId, initCtx.workerId, options.idProperty, Date.now());
  return {
    name: "ledger",
    async init() {
      await writer.open();
      initCtx.logger.debug({ file: options.file }, "ledger open");
    },
    handle: (event, ctx) => writer.append([lineFor(event, ctx)]),
    handleBatch: (events, ctx) => writer.append(events.map((e) => lineFor(e, ctx))),
    close: () => writer.close(),
  };
}

function isLedgerEntry(value: unknown): value is LedgerEntry {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.p === "string" &&
    typeof e.s === "number" &&
    typeof e.o === "string" &&
    (typeof e.k === "string" || e.k === null) &&
    "id" in e &&
    typeof e.w === "string" &&
    typeof e.t === "number"
  );
}

/**
 * Parses ledger text. An unterminated last line (a process killed mid-write) is ignored; any other
 * line that is not a ledger entry throws, naming the file and line number.
 */
export function parseLedger(text: string, file = "<ledger>"): LedgerEntry[] {
  const lines = text.split("\n");
  // The piece after the last newline is "" for a clean file, or a torn line that was never acknowledged.
  lines.pop();
  return lines.map((line, i) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new EhwError("LEDGER_CORRUPT", `${file}:${i + 1}: not JSON: ${line.slice(0, 80)}`, {
        cause: err,
        context: { file, line: i + 1 },
      });
    }
    if (!isLedgerEntry(parsed)) {
      throw new EhwError("LEDGER_CORRUPT", `${file}:${i + 1}: not a ledger entry: ${line.slice(0, 80)}`, {
        context: { file, line: i + 1 },
      });
    }
    return parsed;
  });
}

/** Reads a ledger file written by the `ledger` built-in; see {@link parseLedger}. */
export async function readLedgerFile(file: string): Promise<LedgerEntry[]> {
  return parseLedger(await readFile(file, "utf8"), file);
}
