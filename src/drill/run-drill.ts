/**
 * `ehw drill`: a seeded crash-recovery rehearsal with a verdict. Starts Azurite and the emulator
 * (persistent, so that both can be restarted), creates the hub, starts the workers, sends events
 * with ids while injecting the planned faults, waits until every partition's checkpoint reached
 * its last event, stops everything by PID, then judges the ledgers, samples and fault log and
 * writes the report. Whatever it started is stopped, also on error and when `signal` aborts.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EventHubProducerClient } from "@azure/event-hubs";
import { BlobServiceClient } from "@azure/storage-blob";
import { sleep } from "../common/retry.js";
import { readLedgerFile } from "../handlers/builtins/ledger.js";
import { type LocalStack, startLocalStack } from "../local/index.js";
import type { Logger } from "../observability/logger.js";
import { PRODUCER_RETRY_OPTIONS } from "../producer/client.js";
import { type SendSummary, sendEvents } from "../producer/send-loop.js";
import { readClaims } from "./claims.js";
import { type FaultTargets, injectFault } from "./faults.js";
import { WorkerFleet } from "./fleet.js";
import type { DrillOptions } from "./options.js";
import { buildReport, type DrillReport, type ReportFiles, writeReport } from "./report/index.js";
import { BlobSampler } from "./sampler.js";
import { type PlannedFault, planSchedule, scheduleSpanMs } from "./schedule.js";
import { RecordingSender, sentEvents } from "./send.js";
import type { FaultRecord, WorkerLedger } from "./types.js";

/** The drill's hub name. */
export const DRILL_HUB = "drill";
const CONSUMER_GROUP = "$Default";

/** What {@link runDrill} returns. */
export interface DrillOutcome {
  readonly report: DrillReport;
  readonly files: ReportFiles;
  /** Absolute directory of the ledger files. */
  readonly ledgerDir: string;
}

/** Options of {@link runDrill} besides the drill options. */
export interface RunDrillControl {
  readonly logger: Logger;
  /** Aborting stops the drill early; everything started is stopped. */
  readonly signal?: AbortSignal;
  /** Persistent stack directory; default a temporary directory removed at the end. */
  readonly dataDir?: string;
}

interface Running {
  stack?: LocalStack;
  fleet?: WorkerFleet;
  sampler?: BlobSampler;
  producer?: EventHubProducerClient;
}

/** The send rate: as given, or spread over the fault schedule so that events flow through every fault. */
export function effectiveRate(options: DrillOptions, plan: readonly PlannedFault[]): number | undefined {
  if (options.ratePerSecond !== undefined || plan.length === 0) return options.ratePerSecond;
  const spanMs = scheduleSpanMs(plan, {
    seed: options.seed,
    counts: options.faults,
    firstAtMs: options.firstFaultMs,
    spacingMs: options.faultSpacingMs,
  });
  return Math.max(1, Math.ceil(options.events / (spanMs / 1000)));
}

/** Runs the drill; see the module comment. */
export async function runDrill(options: DrillOptions, control: RunDrillControl): Promise<DrillOutcome> {
  const out = resolve(options.out);
  const ledgerDir = join(out, "ledgers");
  // Ledgers of an earlier drill in the same directory would be judged as this one's.
  await rm(ledgerDir, { recursive: true, force: true });
  await rm(join(out, "workers"), { recursive: true, force: true });
  await mkdir(ledgerDir, { recursive: true });
  const dataDir = control.dataDir ?? (await mkdtemp(join(tmpdir(), "ehw-drill-")));
  const running: Running = {};
  try {
    const report = await drill(options, control, running, { out, ledgerDir, dataDir });
    const files = await writeReport(out, report);
    return { report, files, ledgerDir };
  } finally {
    await stopEverything(running, control.logger);
    if (control.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
  }
}

async function stopEverything(running: Running, logger: Logger): Promise<void> {
  const steps: Array<[string, (() => Promise<void>) | undefined]> = [
    ["workers", running.fleet && (() => (running.fleet as WorkerFleet).stopAll(15_000))],
    ["sampler", running.sampler && (() => (running.sampler as BlobSampler).stop())],
    ["producer", running.producer && (() => (running.producer as EventHubProducerClient).close())],
    ["stack", running.stack && (() => (running.stack as LocalStack).stop())],
  ];
  for (const [name, step] of steps) {
    if (step === undefined) continue;
    await step().catch((err: unknown) => logger.warn({ err }, `drill cleanup: stopping ${name} failed`));
  }
}

interface Paths {
  readonly out: string;
  readonly ledgerDir: string;
  readonly dataDir: string;
}

async function drill(options: DrillOptions, control: RunDrillControl, running: Running, paths: Paths) {
  const { logger, signal } = control;
  const stackStartedAtMs = Date.now();
  const stack = await startLocalStack({
    dataDir: paths.dataDir,
    hubs: [{ name: DRILL_HUB, partitionCount: options.partitions }],
    logger,
  });
  running.stack = stack;
  signal?.throwIfAborted();
  // The drill's clock (and the timeline) starts once the stack is up, when the first worker starts.
  const startedAtMs = Date.now();
  const containerName = `drill-${options.seed}-${Date.now().toString(36)}`;
  const container = BlobServiceClient.fromConnectionString(stack.azurite.connectionString).getContainerClient(
    containerName,
  );
  await container.createIfNotExists();
  const sampler = new BlobSampler({
    container,
    eventHubName: DRILL_HUB,
    consumerGroup: CONSUMER_GROUP,
    intervalMs: options.sampleIntervalMs,
    logger,
  });
  running.sampler = sampler;
  sampler.start();
  const fleet = new WorkerFleet({
    eventHubConnectionString: stack.emulator.connectionString,
    eventHubName: DRILL_HUB,
    storageConnectionString: stack.azurite.connectionString,
    containerName,
    ledgerDir: paths.ledgerDir,
    logDir: join(paths.out, "workers"),
    workerFlags: options.workerFlags,
    logger,
  });
  running.fleet = fleet;
  await Promise.all(Array.from({ length: options.workers }, () => fleet.start()));
  const phase = await sendWithFaults(options, control, running, stack);
  return finish(options, control, running, {
    ...phase,
    startedAtMs,
    stackStartupMs: startedAtMs - stackStartedAtMs,
    paths,
  });
}

interface SendPhase {
  readonly faults: FaultRecord[];
  readonly summary: SendSummary;
  readonly sender: RecordingSender;
  readonly lastSequenceNumbers: Record<string, number>;
  readonly catchUp: { caughtUp: boolean; ms: number };
  readonly rate: number | undefined;
  readonly sendStartedAtMs: number;
  readonly sendEndedAtMs: number;
}

async function sendWithFaults(
  options: DrillOptions,
  control: RunDrillControl,
  running: Running,
  stack: LocalStack,
): Promise<SendPhase> {
  const { logger, signal } = control;
  const plan = planSchedule({
    seed: options.seed,
    counts: options.faults,
    firstAtMs: options.firstFaultMs,
    spacingMs: options.faultSpacingMs,
  });
  const rate = effectiveRate(options, plan);
  const producer = new EventHubProducerClient(stack.emulator.connectionString, DRILL_HUB, {
    retryOptions: PRODUCER_RETRY_OPTIONS,
  });
  running.producer = producer;
  const sender = new RecordingSender(producer, { logger, signal });
  const sendStart = Date.now();
  const sending = sendEvents(
    sender,
    {
      count: options.events,
      ratePerSecond: rate,
      bodySizeBytes: 100,
      routing: options.keys > 0 ? { kind: "keys", keyCount: options.keys } : { kind: "any" },
      idStart: 0,
      type: "ehw.drill",
      concurrency: 4,
    },
    { signal },
  );
  // Keep a send failure from being an unhandled rejection while faults are injected.
  sending.catch(() => undefined);
  const faults = await injectOnSchedule(plan, sendStart, signal, {
    stack,
    fleet: running.fleet as WorkerFleet,
    sampler: running.sampler as BlobSampler,
    eventHubName: DRILL_HUB,
    termTimeoutMs: 45_000,
    logger,
  });
  const summary = await sending;
  const sendEndedAtMs = Date.now();
  logger.info({ sent: summary.sent, seconds: summary.seconds }, "sending finished");
  const lastSequenceNumbers = await readLastSequenceNumbers(producer, sender, options.partitions);
  const catchUp = await waitForCatchUp(running.sampler as BlobSampler, lastSequenceNumbers, options, signal);
  return {
    faults,
    summary,
    sender,
    lastSequenceNumbers,
    catchUp,
    rate,
    sendStartedAtMs: sendStart,
    sendEndedAtMs,
  };
}

/** Injects each planned fault at its offset from `startMs`, one after the other. */
async function injectOnSchedule(
  plan: readonly PlannedFault[],
  startMs: number,
  signal: AbortSignal | undefined,
  targets: FaultTargets,
): Promise<FaultRecord[]> {
  const faults: FaultRecord[] = [];
  for (const planned of plan) {
    const wait = startMs + planned.atOffsetMs - Date.now();
    if (wait > 0) await sleep(wait, signal);
    faults.push(await injectFault(planned, targets));
  }
  return faults;
}

async function readLastSequenceNumbers(
  producer: EventHubProducerClient,
  sender: RecordingSender,
  partitions: number,
): Promise<Record<string, number>> {
  const ids = Array.from({ length: partitions }, (_, i) => String(i));
  const result: Record<string, number> = {};
  for (const id of ids) {
    // Through the sender's retry, which rides out a hub that is just coming back.
    const props = await sender.retrying("read partition properties", () =>
      producer.getPartitionProperties(id),
    );
    result[id] = props.lastEnqueuedSequenceNumber;
  }
  return result;
}

async function waitForCatchUp(
  sampler: BlobSampler,
  last: Record<string, number>,
  options: DrillOptions,
  signal: AbortSignal | undefined,
): Promise<{ caughtUp: boolean; ms: number }> {
  const start = Date.now();
  const deadline = start + options.catchUpTimeoutMs;
  for (;;) {
    const latest = sampler.latestCheckpoints();
    const behind = Object.entries(last).filter(([p, s]) => s >= 0 && (latest[p] ?? -1) < s);
    if (behind.length === 0) return { caughtUp: true, ms: Date.now() - start };
    if (Date.now() >= deadline) return { caughtUp: false, ms: Date.now() - start };
    await sleep(options.sampleIntervalMs, signal);
  }
}

interface FinishInput extends SendPhase {
  readonly startedAtMs: number;
  readonly stackStartupMs: number;
  readonly paths: Paths;
}

async function finish(
  options: DrillOptions,
  control: RunDrillControl,
  running: Running,
  input: FinishInput,
): Promise<DrillReport> {
  const fleet = running.fleet as WorkerFleet;
  const sampler = running.sampler as BlobSampler;
  // A replacement that failed to start makes the drill fail rather than be judged without it.
  await fleet.settled();
  const stoppingAtMs = Date.now();
  await fleet.stopAll(45_000);
  // One last read after the graceful stops, which write final checkpoints and release ownership.
  await sampler.sampleNow();
  await sampler.stop();
  const endedAtMs = Date.now();
  const ledgers = await readLedgers(fleet);
  const claims = await readClaims(join(input.paths.out, "workers"), fleet.started);
  control.logger.info({ workers: ledgers.length, claims: claims.length }, "ledgers and claim lines read");
  return buildReport(
    {
      seed: options.seed,
      workers: options.workers,
      partitions: options.partitions,
      events: options.events,
      keys: options.keys,
      ratePerSecond: input.rate,
      faults: options.faults,
    },
    {
      startedAtMs: input.startedAtMs,
      endedAtMs,
      stackStartupMs: input.stackStartupMs,
      workerFlags: options.workerFlags,
      send: { seconds: input.summary.seconds, retriedBatches: input.sender.retriedBatches },
      caughtUp: input.catchUp.caughtUp,
      catchUpMs: input.catchUp.ms,
      phases: { sendStartedAtMs: input.sendStartedAtMs, sendEndedAtMs: input.sendEndedAtMs, stoppingAtMs },
    },
    {
      sent: sentEvents(input.sender.acknowledged, options.keys, options.partitions),
      ledgers,
      faults: input.faults,
      checkpoints: sampler.checkpoints,
      ownerships: sampler.ownerships,
      lastSequenceNumbers: input.lastSequenceNumbers,
      settings: options.verdictSettings,
      claims,
    },
    fleet.started,
  );
}

async function readLedgers(fleet: WorkerFleet): Promise<WorkerLedger[]> {
  const ledgers: WorkerLedger[] = [];
  for (const workerId of fleet.started) {
    try {
      ledgers.push({ workerId, entries: await readLedgerFile(fleet.ledgerFile(workerId)) });
    } catch (err) {
      // A worker that never got to process anything has no file.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      ledgers.push({ workerId, entries: [] });
    }
  }
  return ledgers;
}
