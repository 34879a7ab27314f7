/**
 * The dev stack: Azurite, the emulator with one hub, a producer and W worker processes, all in one
 * data directory; sampled into the dev view, changed by key actions, and stopped completely —
 * every process it started, by PID — on quit or when starting fails.
 */
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ProcessError, toError } from "../common/errors.js";
import type { PartitionStatusRow } from "../inspect/status-rows.js";
import { stopAll } from "../local/index.js";
import type { Logger } from "../observability/logger.js";
import { type DevTraces, startDevTraces } from "./dev-traces.js";
import { type Infra, openStackLog, startInfra } from "./infra.js";
import { type DevAction, pickWorker } from "./keys.js";
import type { DevOptions } from "./options.js";
import { createPartitionSampler, type PartitionSampler, samplingError } from "./partition-sampler.js";
import { type DevProducer, startDevProducer } from "./producer.js";
import { RateMeter } from "./rates.js";
import type { DevInfo } from "./render.js";
import { ledgerEventOf, RedeliveryCauses, SeenEvents } from "./seen-events.js";
import { buildDevView, type DevView } from "./view-model.js";
import {
  DEV_CONTAINER_NAME,
  DEV_WORKER_TIMING,
  devWorkerArgs,
  runSupportsStatusLines,
} from "./worker-args.js";
import { WorkerPool } from "./workers.js";

/** Hooks of {@link DevStack.start}. */
export interface DevStackHooks {
  /** Called when something may have changed (a worker's log line or exit). */
  onChange?: () => void;
  /** Called once when Azurite or the emulator exits without being asked to. */
  onFatal?: (message: string) => void;
  /** Reports progress while starting ("starting Azurite and the emulator"). */
  onProgress?: (message: string) => void;
  /** Aborting stops the start after the current step, stopping what was started. */
  signal?: AbortSignal;
}

/** What a key action did. */
export interface ActionOutcome {
  /** What was done, at once. */
  message: string;
  /** For a stop or kill: how the worker ended, once it has. */
  settled?: Promise<string>;
}

/** One process the stack started. */
export interface DevPid {
  name: string;
  pid: number;
}

/** Milliseconds the producer gets to finish its batches in flight at shutdown. */
const PRODUCER_STOP_MS = 10_000;
/** Milliseconds the sampler's client gets to close. */
const SAMPLER_CLOSE_MS = 5000;
/** Milliseconds to wait before calling an infrastructure exit fatal: a Ctrl-C reaches us too. */
const FATAL_GRACE_MS = 300;

async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** What the banner and the view header show. */
function devInfo(options: DevOptions, dataDir: string, infra: Infra, traces: DevTraces | undefined): DevInfo {
  const tracesTo = traces?.snapshot(Date.now());
  return {
    traces: tracesTo === undefined ? undefined : { destination: tracesTo.destination, local: tracesTo.local },
    dataDir,
    eventHubConnectionString: infra.emulator.connectionString,
    hub: options.hub,
    storageConnectionString: infra.azurite.connectionString,
    containerName: DEV_CONTAINER_NAME,
    ratePerSecond: options.ratePerSecond,
  };
}

/**
 * The worker pool, its workers' command lines, and their ledgers feeding `seen`; each event handled
 * again is counted in `causes` by how its worker's claim got the partition.
 */
function createWorkerPool(
  options: DevOptions,
  info: DevInfo,
  seen: SeenEvents,
  causes: RedeliveryCauses,
  onChange: (() => void) | undefined,
  traces: DevTraces | undefined,
): WorkerPool {
  const statusLines = runSupportsStatusLines();
  const pool: WorkerPool = new WorkerPool({
    dataDir: info.dataDir,
    ledger: options.handler === "ledger",
    onLedgerLine: (line) => {
      const event = ledgerEventOf(line);
      if (event === undefined || seen.record(event.partitionId, event.sequenceNumber)) return;
      const worker = pool.list().find((w) => w.ownerId === event.workerId);
      causes.record(worker?.log.claims.get(event.partitionId));
    },
    onChange,
    env: traces?.workerEnv,
    argsFor: (ownerId) =>
      devWorkerArgs({
        ownerId,
        eventHubConnectionString: info.eventHubConnectionString,
        hub: options.hub,
        storageConnectionString: info.storageConnectionString,
        dataDir: info.dataDir,
        handler: options.handler,
        checkpointEvery: options.checkpointEvery,
        statusLines,
        tracing: traces !== undefined,
      }),
  });
  return pool;
}

/** A running dev stack; create with {@link DevStack.start}. */
export class DevStack {
  private producer: DevProducer | undefined;
  private readonly sentMeter = new RateMeter();
  private readonly processedMeter = new RateMeter();
  private lastPartitions: PartitionStatusRow[] | undefined;
  private stopping: Promise<void> | undefined;
  private readonly upSince = performance.now();

  private constructor(
    readonly options: DevOptions,
    readonly info: DevInfo,
    private readonly infra: Infra,
    private readonly sampler: PartitionSampler,
    readonly workers: WorkerPool,
    private readonly stackLog: { logger: Logger; close: () => Promise<void> },
    private readonly seen: SeenEvents,
    private readonly causes: RedeliveryCauses,
    private readonly traces: DevTraces | undefined,
  ) {}

  /**
   * Starts everything. On any failure (or abort) whatever was started is stopped again and the
   * error is rethrown; no process is left behind.
   */
  static async start(options: DevOptions, hooks: DevStackHooks = {}): Promise<DevStack> {
    const dataDir = resolve(options.dataDir ?? (await mkdtemp(join(tmpdir(), "ehw-dev-"))));
    await mkdir(join(dataDir, "logs"), { recursive: true });
    const stackLog = openStackLog(dataDir);
    const logger = stackLog.logger;
    hooks.onProgress?.(`starting Azurite and the Event Hubs emulator (data in ${dataDir})`);
    let infra: Infra;
    let traces: DevTraces | undefined;
    try {
      // The receiver first: it is no process, and the workers need its URL.
      if (options.producerTracing !== undefined) {
        const { collectorTracesUrl, producerTracing, hub } = options;
        traces = await startDevTraces({ collectorTracesUrl, producerTracing, hub }, logger);
      }
      infra = await startInfra(options, dataDir, logger);
    } catch (err) {
      await traces?.close();
      await stackLog.close();
      throw err;
    }
    const info = devInfo(options, dataDir, infra, traces);
    const sampler = createPartitionSampler({
      eventHubConnectionString: info.eventHubConnectionString,
      eventHubHost: `${infra.emulator.host}:${infra.emulator.amqpPort}`,
      hub: options.hub,
      storageConnectionString: info.storageConnectionString,
      containerName: DEV_CONTAINER_NAME,
      ownershipExpirationMs: DEV_WORKER_TIMING.ownershipExpirationMs,
    });
    const seen = new SeenEvents();
    const causes = new RedeliveryCauses();
    const pool = createWorkerPool(options, info, seen, causes, hooks.onChange, traces);
    const stack = new DevStack(options, info, infra, sampler, pool, stackLog, seen, causes, traces);
    try {
      await stack.startClients(hooks);
    } catch (err) {
      await stack
        .stop()
        .catch((stopErr: unknown) => logger.warn({ err: stopErr }, "cleanup after a failed start"));
      throw err;
    }
    stack.watchInfra(hooks.onFatal);
    return stack;
  }

  private async startClients(hooks: DevStackHooks): Promise<void> {
    const { options } = this;
    const check = () => hooks.signal?.throwIfAborted();
    check();
    // The first sample checks the hub exists and tells where ids of an earlier session ended.
    const partitions = await this.sampler.sample();
    this.lastPartitions = partitions;
    check();
    if (options.ratePerSecond > 0) {
      hooks.onProgress?.(`starting the producer (${options.ratePerSecond} events/s)`);
      const idStart = partitions.reduce(
        (sum, p) => sum + (p.isEmpty ? 0 : p.lastEnqueuedSequenceNumber + 1),
        0,
      );
      this.producer = await startDevProducer({
        connectionString: this.info.eventHubConnectionString,
        hub: options.hub,
        ratePerSecond: options.ratePerSecond,
        keys: options.keys,
        idStart,
        tracer: this.traces?.producerTracer,
      });
    }
    if (options.workers > 0) hooks.onProgress?.(`starting ${options.workers} workers`);
    for (let i = 0; i < options.workers; i++) {
      check();
      await this.workers.add();
    }
  }

  private watchInfra(onFatal: ((message: string) => void) | undefined): void {
    let reported = false;
    const watch = (
      name: string,
      child: { exited: Promise<{ code: number | null; signal: string | null }> },
    ) => {
      void child.exited.then((exit) => {
        setTimeout(() => {
          if (this.stopping !== undefined || reported) return;
          reported = true;
          const how = exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
          onFatal?.(
            `${name} exited unexpectedly (${how}); see ${join(this.info.dataDir, "logs", "stack.log")}`,
          );
        }, FATAL_GRACE_MS).unref();
      });
    };
    watch("Azurite", this.infra.azurite.child);
    watch("the Event Hubs emulator", this.infra.emulator.child);
  }

  /** Every process the stack started and that may still run, infrastructure first. */
  pids(): DevPid[] {
    return [
      { name: "azurite", pid: this.infra.azurite.pid },
      { name: "emulator", pid: this.infra.emulator.pid },
      ...this.workers.list().map((w) => ({ name: w.ownerId, pid: w.child.pid })),
    ];
  }

  /** Samples everything once and builds the view. */
  async view(): Promise<DevView> {
    const now = performance.now();
    let partitionsError: string | undefined;
    const [workers] = await Promise.all([
      this.workers.sample(now),
      this.sampler.sample().then(
        (partitions) => {
          this.lastPartitions = partitions;
        },
        (err: unknown) => {
          // Keep showing the last good sample, marked by the note.
          partitionsError = samplingError(err);
        },
      ),
    ]);
    const producer = this.producer;
    if (producer !== undefined) this.sentMeter.record(now, producer.progress.sent);
    const ledger = this.options.handler === "ledger";
    if (ledger) this.processedMeter.record(now, this.seen.total);
    const workerRates = workers.map((w) => w.eventsPerSecond).filter((r): r is number => r !== undefined);
    return buildDevView({
      uptimeMs: now - this.upSince,
      hub: this.options.hub,
      partitionCount: this.options.partitions,
      producer:
        producer === undefined
          ? undefined
          : {
              sent: producer.progress.sent,
              eventsPerSecond: this.sentMeter.perSecond(),
              failure: producer.failure,
            },
      workers,
      partitions: this.lastPartitions,
      partitionsError,
      processedPerSecond: ledger
        ? this.processedMeter.perSecond()
        : workerRates.length > 0
          ? workerRates.reduce((a, b) => a + b, 0)
          : undefined,
      redelivered: ledger ? this.seen.repeated : undefined,
      nowMs: Date.now(),
      redeliveredByCause: ledger ? this.causes.snapshot() : undefined,
      traces: this.traces?.snapshot(Date.now()),
    });
  }

  /**
   * Runs a key action (not quit). Resolves with a line saying what was done and, for a stop or
   * kill, a promise of the line saying how the worker ended.
   */
  async apply(action: Exclude<DevAction, { kind: "quit" }>): Promise<ActionOutcome> {
    if (this.stopping !== undefined) return { message: "stopping everything" };
    if (action.kind === "add") {
      const worker = await this.workers.add();
      return { message: `started ${worker.ownerId} (pid ${worker.child.pid})` };
    }
    const ownerId = pickWorker(this.workers.stoppable(), action.target);
    if (ownerId === undefined) {
      return {
        message: action.target === "newest" ? "no running worker" : `no running worker-${action.target}`,
      };
    }
    const pid = this.workers.list().find((w) => w.ownerId === ownerId)?.child.pid;
    const ended = action.kind === "stop" ? this.workers.stop(ownerId) : this.workers.kill(ownerId);
    const settled = ended.then(
      (exit) => `${ownerId} (pid ${pid}) exited ${exit.signal ?? exit.code}`,
      (err: unknown) => `${ownerId} (pid ${pid}): ${toError(err).message}`,
    );
    const how = action.kind === "stop" ? "stopping" : "killing";
    return {
      message: `${how} ${ownerId} (pid ${pid}, ${action.kind === "stop" ? "SIGTERM" : "SIGKILL"})`,
      settled,
    };
  }

  /**
   * Stops everything, in order: producer, workers (SIGTERM, SIGKILL after the deadline), the
   * sampler, the emulator and Azurite. Every step is tried; failures are thrown together at the
   * end. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const failures: Error[] = [];
    const attempt = async (what: string, step: () => Promise<unknown>) => {
      try {
        await step();
      } catch (err) {
        this.stackLog.logger.warn({ err }, `stopping ${what} failed`);
        failures.push(toError(err));
      }
    };
    await attempt("the producer", () => within(this.producer?.stop() ?? Promise.resolve(), PRODUCER_STOP_MS));
    await attempt("the workers", () => this.workers.stopAll());
    // After the workers: their last export, at shutdown, still arrives.
    await attempt("the trace receiver", () => this.traces?.close() ?? Promise.resolve());
    await attempt("the sampler", () => within(this.sampler.close(), SAMPLER_CLOSE_MS));
    await attempt("azurite and the emulator", () =>
      stopAll([
        { name: "emulator", stop: () => this.infra.emulator.stop() },
        { name: "azurite", stop: () => this.infra.azurite.stop() },
      ]),
    );
    await attempt("log files", () => this.workers.close());
    await this.stackLog.close();
    if (failures.length > 0) {
      throw new ProcessError(
        `could not stop everything cleanly: ${failures.map((f) => f.message).join("; ")}`,
        {
          cause: failures.length === 1 ? failures[0] : new AggregateError(failures),
        },
      );
    }
  }

  /** SIGKILLs every process at once (a second Ctrl-C while stopping). */
  async kill(): Promise<void> {
    await Promise.allSettled([
      this.workers.killAll(),
      this.infra.emulator.child.kill(),
      this.infra.azurite.child.kill(),
    ]);
  }
}
