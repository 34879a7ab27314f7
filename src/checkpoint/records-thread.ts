/**
 * {@link PartitionRecords} served by a worker thread. Each checkpoint write through the storage SDK
 * costs the calling thread most of a millisecond of CPU (request pipeline, signing, HTTP, response
 * parsing): at the default of a checkpoint every 100 events that is about a tenth of the CPU the
 * event loop has for receiving and running handlers. Here the event loop only posts a small message
 * per call; the thread, with its own container client built from the same storage settings, does
 * the request. Where a core is spare, the writes no longer take time from the handlers; the process
 * as a whole spends more CPU (a message each way per call, a second V8 isolate).
 *
 * The thread starts with {@link ThreadPartitionRecords.open} (or the first call). When it dies,
 * calls in flight fail with a retriable CheckpointError (which the callers treat like a failed
 * storage call; every write is conditional, so one that did land before is found by the next
 * attempt), calls run on the `fallback` records in this thread for a while, and then a new thread
 * starts. A thread that never answered (it could
 * not start) is not started again: everything stays on the fallback. The thread keeps the process
 * alive only while a call is in flight.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { CheckpointError } from "../common/errors.js";
import type { StorageConfig } from "../config/worker.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import type { PartitionRecords } from "./blob-records.js";
import {
  deserializeError,
  type RecordsOperation,
  type RecordsRequest,
  type RecordsResponse,
} from "./records-protocol.js";

/** Options of {@link ThreadPartitionRecords}. */
export interface ThreadPartitionRecordsOptions {
  /** Records in this thread, for when the thread cannot serve (e.g. BlobPartitionRecords). */
  readonly fallback: PartitionRecords;
  /** Milliseconds after a thread died before the next one starts; default 5000. */
  readonly restartDelayMs?: number;
  /** Monotonic milliseconds; default `performance.now`. */
  readonly clock?: () => number;
  /** Logs a thread that died; default silent. */
  readonly logger?: Logger;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
}

/** See the module comment. Call {@link close} when done; later calls reject. */
export class ThreadPartitionRecords implements PartitionRecords {
  private thread: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  /** The current thread has answered at least once (so it did start). */
  private answered = false;
  /** No thread starts before this time (clock ms); +Infinity once a thread could not start. */
  private restartAtMs = 0;
  /** Settles true when the current thread says it is ready, false when it dies first. */
  private ready: Promise<boolean> = Promise.resolve(false);
  private settleReady: (ready: boolean) => void = () => {};
  private readonly logger: Logger;
  private readonly clock: () => number;

  /** @param storage - the checkpoint storage settings; the thread builds its own client from them. */
  constructor(
    private readonly storage: StorageConfig,
    private readonly options: ThreadPartitionRecordsOptions,
  ) {
    this.logger = (options.logger ?? silentLogger()).child({ component: "checkpoint-thread" });
    this.clock = options.clock ?? (() => performance.now());
  }

  /** Whether calls now go to a thread (false: to the fallback). */
  get threaded(): boolean {
    return this.thread !== undefined || this.clock() >= this.restartAtMs;
  }

  createOwnership(...args: Parameters<PartitionRecords["createOwnership"]>) {
    return this.call("createOwnership", args) as ReturnType<PartitionRecords["createOwnership"]>;
  }

  readOwnership(...args: Parameters<PartitionRecords["readOwnership"]>) {
    return this.call("readOwnership", args) as ReturnType<PartitionRecords["readOwnership"]>;
  }

  readCheckpoint(...args: Parameters<PartitionRecords["readCheckpoint"]>) {
    return this.call("readCheckpoint", args) as ReturnType<PartitionRecords["readCheckpoint"]>;
  }

  writeCheckpoint(...args: Parameters<PartitionRecords["writeCheckpoint"]>) {
    return this.call("writeCheckpoint", args) as ReturnType<PartitionRecords["writeCheckpoint"]>;
  }

  /**
   * Starts the thread now, if calls go to one, and resolves true once it is ready to serve, or
   * false when calls go to the fallback: it could not start within `timeoutMs` (default 30 s), or
   * it is closed. The worker awaits this before it subscribes, so that its first ownership claims
   * do not wait for the thread to load the storage SDK.
   */
  async open(timeoutMs = 30_000): Promise<boolean> {
    if (this.closed || !this.threaded) return false;
    const thread = this.thread ?? this.start();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    const outcome = await Promise.race([this.ready, late]);
    clearTimeout(timer);
    if (outcome !== "late") return outcome;
    this.died(thread, `did not start within ${timeoutMs} ms`, {});
    return false;
  }

  /** Calls in flight now. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Stops the thread; calls in flight reject. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const thread = this.thread;
    this.thread = undefined;
    this.failPending("the checkpoint thread was closed");
    if (thread !== undefined) await thread.terminate();
  }

  private call(op: RecordsOperation, args: readonly unknown[]): Promise<unknown> {
    if (this.closed) {
      return Promise.reject(new CheckpointError(`checkpoint storage call ${op} after close`));
    }
    if (!this.threaded) {
      const call = this.options.fallback[op] as (...a: unknown[]) => Promise<unknown>;
      return call.apply(this.options.fallback, [...args]);
    }
    const thread = this.thread ?? this.start();
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      if (this.pending.size === 0) thread.ref();
      this.pending.set(id, { resolve, reject });
      const request: RecordsRequest = { id, op, args };
      thread.postMessage(request);
    });
  }

  private start(): Worker {
    const thread = spawnRecordsThread(this.storage);
    this.thread = thread;
    this.answered = false;
    this.ready = new Promise<boolean>((resolve) => {
      this.settleReady = resolve;
    });
    thread.unref();
    thread.on("message", (response: RecordsResponse) => this.settle(response));
    thread.on("error", (err) => this.died(thread, "failed", { err }));
    thread.on("exit", (exitCode) => this.died(thread, `exited with code ${exitCode}`, { exitCode }));
    return thread;
  }

  private died(thread: Worker, how: string, fields: Record<string, unknown>): void {
    if (this.thread !== thread) return;
    this.thread = undefined;
    this.settleReady(false);
    void thread.terminate();
    if (this.answered) {
      const delayMs = this.options.restartDelayMs ?? 5000;
      this.restartAtMs = this.clock() + delayMs;
      this.logger.warn(
        { ...fields, restartDelayMs: delayMs },
        `checkpoint thread ${how}; checkpoint calls run on the main thread until it starts again`,
      );
    } else {
      this.restartAtMs = Number.POSITIVE_INFINITY;
      this.logger.warn(
        fields,
        `checkpoint thread ${how} before its first answer; checkpoint calls run on the main thread from now on`,
      );
    }
    this.failPending(`the checkpoint thread ${how}`, fields.err);
  }

  private settle(response: RecordsResponse): void {
    if ("ready" in response) {
      this.answered = true;
      this.settleReady(true);
      return;
    }
    const pending = this.pending.get(response.id);
    if (pending === undefined) return;
    this.pending.delete(response.id);
    this.answered = true;
    if (this.pending.size === 0) this.thread?.unref();
    if (response.ok) pending.resolve(response.value);
    else pending.reject(deserializeError(response.error));
  }

  private failPending(reason: string, cause?: unknown): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new CheckpointError(reason, { cause, retriable: true }));
  }
}

/**
 * The thread's heap. Its calls allocate little and briefly; with V8's default young generation a
 * thread added about 30 MB of RSS, with 2 MB none measurable, at the same CPU per write. A thread
 * that outgrows the old-generation cap dies and is replaced (see the module comment).
 */
const THREAD_HEAP_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 };

/**
 * Starts the thread. Built, this module sits next to the compiled entry; run from the TypeScript
 * sources (tests, benchmarks, `tsx`), the thread loads the entry through tsx, which a new thread
 * does not inherit from its parent.
 */
function spawnRecordsThread(storage: StorageConfig): Worker {
  const workerData = { storage };
  const resourceLimits = THREAD_HEAP_LIMITS;
  if (!import.meta.url.endsWith(".ts")) {
    return new Worker(new URL("./records-thread-entry.js", import.meta.url), { workerData, resourceLimits });
  }
  const tsx = JSON.stringify(tsxEsmApi());
  const entry = JSON.stringify(new URL("./records-thread-entry.ts", import.meta.url).href);
  const parent = JSON.stringify(import.meta.url);
  const boot = `import(${tsx}).then(({ tsImport }) => tsImport(${entry}, ${parent}));`;
  return new Worker(boot, { eval: true, workerData, resourceLimits });
}

/** URL of tsx's ESM API, from its package's own exports map (its CommonJS build cannot register here). */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve("tsx/package.json");
  const exports = (JSON.parse(readFileSync(manifest, "utf8")) as TsxManifest).exports;
  const target = exports["./esm/api"]?.import?.default;
  if (target === undefined) throw new Error("tsx does not export ./esm/api for import");
  return pathToFileURL(join(dirname(manifest), target)).href;
}

interface TsxManifest {
  exports: Record<string, { import?: { default?: string } } | undefined>;
}
