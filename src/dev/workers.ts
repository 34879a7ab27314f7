/**
 * The dev stack's worker processes: each a real `ehw run` child with its own owner id, its output
 * in `<data>/logs/<ownerId>.log`, its log lines read for state and partitions, and its ledger
 * growth counted for its rate. Processes are signalled by PID only.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { EhwError } from "../common/errors.js";
import { type ChildExit, type ManagedChild, spawnChild } from "../local/child.js";
import { type CommandLine, ehwCommand } from "../local/cli-command.js";
import { DEFAULT_SECRET_FLAGS, type OutputLine } from "../local/output.js";
import { LedgerCounter } from "./ledger-counter.js";
import { RateMeter } from "./rates.js";
import type { WorkerSnapshot } from "./view-model.js";
import { DEV_WORKER_SECRET_FLAGS, ledgerFile, workerLogFile } from "./worker-args.js";
import {
  applyWorkerLogEvent,
  initialWorkerLogState,
  parseWorkerLine,
  type WorkerLogState,
} from "./worker-log.js";

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** Data directory; logs go to `<dataDir>/logs`, ledgers to `<dataDir>/ledger`. */
  dataDir: string;
  /** The `ehw` arguments of the worker with this owner id. */
  argsFor: (ownerId: string) => string[];
  /** Whether workers write a ledger whose growth gives their rate. */
  ledger: boolean;
  /** Called with every ledger line a worker appends this session. */
  onLedgerLine?: (line: string) => void;
  /** Milliseconds a SIGTERMed worker gets before SIGKILL; default 15000. */
  stopTimeoutMs?: number;
  /** Turns `ehw` arguments into a command; default {@link ehwCommand}. */
  command?: (args: string[]) => CommandLine;
  /** Called when a worker's state may have changed (a log line, an exit). */
  onChange?: () => void;
  /** The workers' complete environment; default: inherited from this process. */
  env?: NodeJS.ProcessEnv;
}

/** One worker process of the pool. */
export class DevWorker {
  /** What its log lines said so far. */
  log: WorkerLogState = initialWorkerLogState();
  /** Whether the pool sent it SIGTERM or SIGKILL. */
  stopRequested = false;
  private readonly meter = new RateMeter();

  constructor(
    readonly ownerId: string,
    readonly child: ManagedChild,
    private readonly ledger: LedgerCounter | undefined,
    private readonly logStream: WriteStream,
  ) {}

  /** Reads its ledger growth (or status counters) and returns its snapshot. */
  async sample(atMs: number): Promise<WorkerSnapshot> {
    let processed: number | undefined;
    if (this.ledger !== undefined) {
      processed = await this.ledger.update();
      this.meter.record(atMs, processed);
    } else if (this.log.status !== undefined) {
      // Per-partition counters restart when a partition moves; the meter counts increases only.
      const sum = this.log.status.partitions.reduce((s, p) => s + (p.processed ?? 0), 0);
      this.meter.record(atMs, sum);
    }
    return {
      ownerId: this.ownerId,
      pid: this.child.pid,
      exit: this.child.exit,
      stopRequested: this.stopRequested,
      log: this.log,
      processed,
      eventsPerSecond: this.child.running ? this.meter.perSecond() : undefined,
    };
  }

  /** @internal Feeds one output line into the log file and the state. */
  accept(line: OutputLine): void {
    this.logStream.write(`${line.text}\n`);
    const event = parseWorkerLine(line.text, line.stream);
    if (event !== undefined) this.log = applyWorkerLogEvent(this.log, event);
  }

  /** Closes its ledger file and its log file. */
  async close(): Promise<void> {
    await this.ledger?.close();
    await new Promise<void>((resolve) => this.logStream.end(resolve));
  }
}

/** Starts, stops and samples the dev workers. */
export class WorkerPool {
  private readonly workers: DevWorker[] = [];
  private readonly adding = new Set<Promise<DevWorker>>();
  private closing = false;
  private nextNumber = 1;

  constructor(private readonly options: WorkerPoolOptions) {}

  /** Every worker started, oldest first. */
  list(): readonly DevWorker[] {
    return this.workers;
  }

  /** Owner ids of workers that can still be stopped or killed, oldest first. */
  stoppable(): string[] {
    return this.workers.filter((w) => w.child.running && !w.stopRequested).map((w) => w.ownerId);
  }

  /** Owner ids of workers whose process still runs (stopping ones included). */
  running(): string[] {
    return this.workers.filter((w) => w.child.running).map((w) => w.ownerId);
  }

  /**
   * Starts the next worker (`worker-<n>`); resolves once it is spawned, not once it runs. Refused
   * once {@link stopAll} has begun, so that no worker starts behind the shutdown's back.
   */
  add(): Promise<DevWorker> {
    if (this.closing) return Promise.reject(new EhwError("DEV_STOPPING", "the dev stack is stopping"));
    const adding = this.spawnNext();
    this.adding.add(adding);
    void adding.then(
      () => this.adding.delete(adding),
      () => this.adding.delete(adding),
    );
    return adding;
  }

  private async spawnNext(): Promise<DevWorker> {
    const ownerId = `worker-${this.nextNumber++}`;
    const { dataDir } = this.options;
    const logPath = workerLogFile(dataDir, ownerId);
    await mkdir(`${dataDir}/logs`, { recursive: true });
    const ledger = this.options.ledger
      ? await LedgerCounter.fromEnd(ledgerFile(dataDir, ownerId), this.options.onLedgerLine)
      : undefined;
    const logStream = createWriteStream(logPath, { flags: "a" });
    const { command, args } = (this.options.command ?? ehwCommand)(this.options.argsFor(ownerId));
    let worker: DevWorker | undefined;
    const early: OutputLine[] = [];
    const child = await spawnChild({
      name: ownerId,
      command,
      args,
      env: this.options.env,
      secretFlags: [...DEFAULT_SECRET_FLAGS, ...DEV_WORKER_SECRET_FLAGS],
      onLine: (line) => {
        if (worker === undefined) early.push(line);
        else worker.accept(line);
        this.options.onChange?.();
      },
    }).catch(async (err: unknown) => {
      await new Promise<void>((resolve) => logStream.end(resolve));
      await ledger?.close();
      throw err;
    });
    worker = new DevWorker(ownerId, child, ledger, logStream);
    for (const line of early) worker.accept(line);
    this.workers.push(worker);
    void child.exited.then(() => this.options.onChange?.());
    return worker;
  }

  private find(ownerId: string): DevWorker {
    const worker = this.workers.find((w) => w.ownerId === ownerId);
    if (worker === undefined) throw new EhwError("DEV_UNKNOWN_WORKER", `no worker ${ownerId}`);
    return worker;
  }

  /** SIGTERM, then SIGKILL after the stop timeout; resolves with how it exited. */
  stop(ownerId: string): Promise<ChildExit> {
    const worker = this.find(ownerId);
    worker.stopRequested = true;
    return worker.child.stop({ timeoutMs: this.options.stopTimeoutMs ?? 15_000 });
  }

  /** SIGKILL, as a crash would; resolves once it is gone. */
  kill(ownerId: string): Promise<ChildExit> {
    const worker = this.find(ownerId);
    worker.stopRequested = true;
    return worker.child.kill();
  }

  /** Stops every running worker at once (graceful, with the SIGKILL deadline); no more start. */
  async stopAll(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.adding]);
    await Promise.all(this.running().map((id) => this.stop(id)));
  }

  /** SIGKILLs every running worker at once. */
  async killAll(): Promise<void> {
    await Promise.all(this.running().map((id) => this.kill(id)));
  }

  /** Snapshots of every worker, oldest first. */
  sample(atMs: number): Promise<WorkerSnapshot[]> {
    return Promise.all(this.workers.map((w) => w.sample(atMs)));
  }

  /** Closes every worker's files; call after the processes are gone. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
