/**
 * How far bounded concurrency carries an I/O-bound handler: every event awaits 10 ms (a stand-in
 * for an HTTP call), 4 partitions, one worker in this process. Sequential processing (ordering
 * `partition`, so one event at a time per partition) against `ordering none` at growing
 * concurrency, each compared with its ideal `partitions × concurrency / delay`. The same sweep with
 * a no-op handler gives the CPU ceiling of this machine: where a run falls short of its ideal and
 * reaches that ceiling, the CPU, not the scheduler, is the limit. Because a shared machine's load
 * moves wall-clock rates, the worker's events per CPU-second are reported too: they say what one
 * full core would sustain, and so at which concurrency the ideal rate outruns the CPU; the CPU the
 * worker, the emulator and Azurite spend together per event says where this machine's cores run out
 * for the whole stack, which shares them here as it would not in production. Every level runs
 * with the default checkpointEvery (100). At concurrency 64 two more runs put that in context: the
 * worker with checkpointEvery 1000 (what checkpoint writes cost at this rate), and a hand-written
 * loop on the plain SDK (same window, no checkpoints; see `boundedLoop`), which is what the SDK's
 * receive path and this machine allow, and the loop a user writes to lose nothing on a restart (a
 * batch at a time, at most 64 of its events at once, a checkpoint after each; see
 * `checkpointingLoop`), whose checkpoints are as frequent as the worker's default. Two more runs at twice the delay tell the
 * CPU's limit from the scheduler's: concurrency 64 (half the ideal rate) and concurrency 128 (the
 * same ideal rate as 64 at the asked delay). A shortfall that the second shares and the first
 * does not follows the event rate, not the number of events in flight.
 *
 * Run: npx tsx bench/worker-concurrency.ts [--events 150000] [--delay-ms 10] [--cap-s 15]
 *        [--concurrency 1,16,64,256]
 * Targets: concurrency 64 ≥ 0.8 × ideal (25.6k/s at 10 ms) until the CPU limit; the worker's CPU
 * per event at concurrency 64 no more than the hand-written loop's (same run, same process): the
 * checkpointing loop's at checkpointEvery 100, the loop without checkpoints' at 1000.
 */
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { wholeNumber } from "./lib/args.js";
import { note, printFigures, printTable, round } from "./lib/report.js";
import {
  boundedLoop,
  checkpointingLoop,
  type ReceiveSettings,
  type ScenarioResult,
} from "./lib/sdk-scenarios.js";
import { type BenchStack, fillBacklog, startBenchStack } from "./lib/stack.js";
import { type HandlerFixture, handlerFixture, runWorkerScenario } from "./lib/worker-scenario.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "150000" },
    "delay-ms": { type: "string", default: "10" },
    "cap-s": { type: "string", default: "15" },
    concurrency: { type: "string", default: "1,16,64,256" },
  },
});

const events = wholeNumber(values.events, "events");
const delayMs = wholeNumber(values["delay-ms"], "delay-ms");
const capMs = wholeNumber(values["cap-s"], "cap-s") * 1000;
const levels = (values.concurrency ?? "").split(",").map((c) => wholeNumber(c, "concurrency"));
const PARTITIONS = 4;
const settings: ReceiveSettings = { maxBatchSize: 100, prefetchCount: 300, updateIntervalMs: 1000 };

interface Row {
  consumer: "worker" | "hand-written loop" | "checkpointing loop";
  /** The worker's checkpointEvery; undefined for the hand-written loop, which writes none. */
  checkpointEvery: number | undefined;
  handler: string;
  ordering: "partition" | "none";
  concurrency: number;
  /** The handler's delay; undefined for the no-op handler. */
  delayMs: number | undefined;
  result: ScenarioResult;
  /** Events/s if only the handler's delay counted; undefined for the no-op handler. */
  ideal: number | undefined;
}

/** Events/s if only the handler's delay counted. */
function idealOf(concurrency: number, delay = delayMs): number {
  return (PARTITIONS * concurrency * 1000) / delay;
}

/** One run of the plan. */
interface Step {
  slow: boolean;
  concurrency: number;
  loop?: "plain" | "checkpointing";
  checkpointEvery?: number;
  /** The handler's delay; default `--delay-ms`. */
  delayMs?: number;
}

async function run(stack: BenchStack, handler: HandlerFixture, step: Step, index: number): Promise<Row> {
  const { slow, concurrency, checkpointEvery = DEFAULT_CHECKPOINT_EVERY } = step;
  const delay = slow ? (step.delayMs ?? delayMs) : undefined;
  // Concurrency 1 is the sequential baseline: strict order per partition.
  const ordering = concurrency === 1 ? "partition" : "none";
  const label = delay === undefined ? "no-op" : `${delay} ms`;
  const group = `level-${index}`;
  const result = await runWorkerScenario(
    stack,
    {
      name: `${label}, ${ordering}, concurrency ${concurrency}, checkpointEvery ${checkpointEvery}`,
      consumerGroup: group,
      containerName: group,
      checkpointEvery,
      concurrency,
      ordering,
      handler,
      handlerOptions: delay === undefined ? {} : { delayMs: delay },
    },
    settings,
    { target: events, capMs },
  );
  const ideal = delay === undefined ? undefined : idealOf(concurrency, delay);
  return {
    consumer: "worker",
    checkpointEvery,
    handler: label,
    ordering,
    concurrency,
    delayMs: delay,
    result,
    ideal,
  };
}

/** The sleep fixture's `handle`, for the hand-written loop (the worker loads the module itself). */
async function sleepHandle(): Promise<() => Promise<unknown>> {
  const url = new URL("./fixtures/sleep-handler.mjs", import.meta.url);
  const module = (await import(url.href)) as {
    default: (options: { delayMs: number }) => { handle: () => Promise<unknown> };
  };
  const { handle } = module.default({ delayMs });
  return () => handle();
}

const LOOP_CONCURRENCY = 64;
/** The worker's default; every level runs with it. */
const DEFAULT_CHECKPOINT_EVERY = 100;
/** Concurrency 64 also runs with this, as the throughput benchmark does: what checkpoints cost. */
const SPARSE_CHECKPOINT_EVERY = 1000;

async function runLoop(stack: BenchStack, index: number, kind: "plain" | "checkpointing"): Promise<Row> {
  const group = `level-${index}`;
  const options = { target: events, capMs };
  const handle = await sleepHandle();
  const result =
    kind === "plain"
      ? await boundedLoop(stack, group, settings, options, LOOP_CONCURRENCY, handle)
      : await checkpointingLoop(stack, group, group, settings, options, LOOP_CONCURRENCY, handle);
  return {
    consumer: kind === "plain" ? "hand-written loop" : "checkpointing loop",
    // The checkpointing loop writes once per batch.
    checkpointEvery: kind === "plain" ? undefined : settings.maxBatchSize,
    handler: `${delayMs} ms`,
    ordering: "none",
    concurrency: LOOP_CONCURRENCY,
    delayMs,
    result,
    ideal: idealOf(LOOP_CONCURRENCY),
  };
}

async function main(): Promise<void> {
  const plan: Step[] = [
    ...levels.map((c) => ({ slow: true, concurrency: c })),
    ...(levels.includes(LOOP_CONCURRENCY)
      ? [
          { slow: true, concurrency: LOOP_CONCURRENCY, checkpointEvery: SPARSE_CHECKPOINT_EVERY },
          { slow: true, concurrency: LOOP_CONCURRENCY, loop: "plain" as const },
          { slow: true, concurrency: LOOP_CONCURRENCY, loop: "checkpointing" as const },
          // The rate control: the same concurrency at half the rate, and twice the concurrency at
          // the same rate.
          { slow: true, concurrency: LOOP_CONCURRENCY, delayMs: 2 * delayMs },
          { slow: true, concurrency: 2 * LOOP_CONCURRENCY, delayMs: 2 * delayMs },
        ]
      : []),
    { slow: false, concurrency: Math.max(...levels) },
  ];
  const stack = await startBenchStack({
    partitionCount: PARTITIONS,
    consumerGroups: plan.map((_, i) => `level-${i}`),
  });
  try {
    note(`sending a backlog of ${events} events`);
    await fillBacklog(stack, events, 100);
    const sleep = await handlerFixture("sleep-handler.mjs");
    const noop = await handlerFixture("noop-handler.mjs");
    const rows: Row[] = [];
    for (const [i, step] of plan.entries()) {
      const row =
        step.loop !== undefined
          ? await runLoop(stack, i, step.loop)
          : await run(stack, step.slow ? sleep : noop, step, i);
      note(`${row.result.scenario}: ${Math.round(row.result.eventsPerSecond)} events/s`);
      rows.push(row);
    }
    report(rows);
  } finally {
    await stack.stop();
  }
}

function report(rows: Row[]): void {
  const ceiling = rows.find((r) => r.ideal === undefined)?.result.eventsPerSecond ?? 0;
  printTable(
    rows.map((r) => ({
      consumer: r.consumer,
      checkpointEvery: r.checkpointEvery ?? "-",
      handler: r.handler,
      ordering: r.ordering,
      concurrency: r.concurrency,
      "events/s": Math.round(r.result.eventsPerSecond),
      ideal: r.ideal === undefined ? undefined : Math.round(r.ideal),
      "of ideal": r.ideal === undefined ? undefined : round(r.result.eventsPerSecond / r.ideal, 3),
      "of CPU ceiling": ceiling > 0 ? round(r.result.eventsPerSecond / ceiling, 3) : undefined,
      "worker CPU %": Math.round((100 * (r.result.cpu.seconds.self ?? 0)) / r.result.cpu.wallSeconds),
      "events/CPU-s": Math.round(r.result.eventsPerConsumerCpuSecond),
      "emulator CPU %": Math.round((100 * (r.result.cpu.seconds.emulator ?? 0)) / r.result.cpu.wallSeconds),
      events: r.result.events,
      capped: r.result.capped ? "yes" : "no",
    })),
  );
  // The sweep: the worker at its default checkpointEvery and the delay asked for.
  const slow = rows.filter(
    (r) => r.delayMs === delayMs && r.consumer === "worker" && r.checkpointEvery === DEFAULT_CHECKPOINT_EVERY,
  );
  const sparse = rows.find((r) => r.consumer === "worker" && r.checkpointEvery === SPARSE_CHECKPOINT_EVERY);
  const slower = (concurrency: number) =>
    rows.find((r) => r.delayMs === 2 * delayMs && r.concurrency === concurrency);
  const halfRate = slower(LOOP_CONCURRENCY);
  const sameRate = slower(2 * LOOP_CONCURRENCY);
  const loop = rows.find((r) => r.consumer === "hand-written loop");
  const checkpointing = rows.find((r) => r.consumer === "checkpointing loop");
  // The CPU limit bites at the first level that misses 0.8 × ideal while running near the ceiling.
  const limited = slow.find((r) => r.result.eventsPerSecond < 0.8 * (r.ideal ?? 0));
  console.log("");
  console.log(`CPU ceiling (no-op handler, ordering none): ${Math.round(ceiling)} events/s`);
  console.log(
    limited === undefined
      ? "every level reached ≥ 0.8 × its ideal"
      : `first level under 0.8 × ideal: concurrency ${limited.concurrency} (${Math.round(limited.result.eventsPerSecond)} of ${Math.round(limited.ideal ?? 0)} events/s; its ideal is ${round((limited.ideal ?? 0) / Math.max(ceiling, 1), 2)} × the CPU ceiling, and it reached ${round(limited.result.eventsPerSecond / Math.max(ceiling, 1), 2)} × the ceiling)`,
  );
  // Load-independent view: events per CPU-second of the worker is what one full core would
  // deliver; the CPU limit bites where the ideal rate passes it.
  const perCore = Math.max(
    0,
    ...slow.filter((r) => r.concurrency > 1).map((r) => r.result.eventsPerConsumerCpuSecond),
  );
  const bitesAt = perCore > 0 ? (perCore * delayMs) / (PARTITIONS * 1000) : undefined;
  if (bitesAt !== undefined) {
    console.log(
      `one core of worker CPU handles about ${Math.round(perCore)} events/s of this handler (measured events per worker CPU-second); the ideal rate passes that at concurrency ≈ ${Math.round(bitesAt)} per partition, so above it the CPU, not the scheduler, is the limit`,
    );
  }
  const sequential = slow.find((r) => r.concurrency === 1);
  const at64 = slow.find((r) => r.concurrency === 64);
  const machine = at64 === undefined ? undefined : machineLimit(at64.result);
  if (machine !== undefined) {
    console.log(
      `the worker, the emulator and Azurite together spent ${round(machine.microsPerEvent, 1)} µs of CPU per event at concurrency 64; ${machine.cores} cores fill at about ${Math.round(machine.eventsPerSecond)} events/s, the ideal rate of concurrency ≈ ${Math.round(machine.concurrency)} per partition (concurrency 64's ideal is ${Math.round((100 * idealOf(64)) / machine.eventsPerSecond)}% of it)`,
    );
  }
  if (at64 !== undefined && loop !== undefined) {
    console.log(
      `at concurrency 64 the worker reached ${round(at64.result.eventsPerSecond / loop.result.eventsPerSecond, 2)} × a hand-written loop on the plain SDK (no checkpoints), which reached ${round(loop.result.eventsPerSecond / (loop.ideal ?? 1), 2)} × the ideal`,
    );
  }
  if (halfRate !== undefined && sameRate !== undefined) {
    console.log(
      `at ${2 * delayMs} ms, concurrency ${LOOP_CONCURRENCY} (half the ideal rate) reached ${ofIdeal(halfRate)} × its ideal, and concurrency ${2 * LOOP_CONCURRENCY} (the ideal rate of ${LOOP_CONCURRENCY} at ${delayMs} ms) ${ofIdeal(sameRate)}: a shortfall that follows the rate, not the concurrency, is the CPU's`,
    );
  }
  const cpu = at64 && loop ? cpuPerEvent(at64, loop) : undefined;
  const cpuSparse = sparse && loop ? cpuPerEvent(sparse, loop) : undefined;
  const cpuCheckpointing = at64 && checkpointing ? cpuPerEvent(at64, checkpointing) : undefined;
  if (cpu !== undefined) {
    console.log(
      `CPU per event at concurrency 64 (this process): worker ${cpu.worker} µs, hand-written loop without checkpoints ${cpu.loop} µs (worker/loop ${cpu.ratio}); worker at checkpointEvery ${SPARSE_CHECKPOINT_EVERY} ${cpuSparse?.worker} µs (worker/loop ${cpuSparse?.ratio})`,
    );
  }
  if (cpuCheckpointing !== undefined && checkpointing !== undefined) {
    console.log(
      `against the checkpointing loop (a checkpoint per ${settings.maxBatchSize}-event batch, ${Math.round(checkpointing.result.eventsPerSecond)} events/s): ${cpuCheckpointing.loop} µs per event, worker/loop ${cpuCheckpointing.ratio} (target ≤ 1)`,
    );
  }
  if (sparse !== undefined && loop !== undefined) {
    console.log(
      `with checkpointEvery ${SPARSE_CHECKPOINT_EVERY} it reached ${round(sparse.result.eventsPerSecond / (sparse.ideal ?? 1), 2)} × the ideal and ${round(sparse.result.eventsPerSecond / loop.result.eventsPerSecond, 2)} × the loop`,
    );
  }
  printFigures("worker-concurrency", {
    events,
    partitions: PARTITIONS,
    delayMs,
    cpuCeilingEventsPerSecond: Math.round(ceiling),
    sequentialEventsPerSecond: sequential && Math.round(sequential.result.eventsPerSecond),
    sequentialOfIdeal: sequential && ofIdeal(sequential),
    concurrency64EventsPerSecond: at64 && Math.round(at64.result.eventsPerSecond),
    concurrency64OfIdeal: at64 && ofIdeal(at64),
    concurrency64Every1000EventsPerSecond: sparse && Math.round(sparse.result.eventsPerSecond),
    concurrency64Every1000OfIdeal: sparse && ofIdeal(sparse),
    halfRateOfIdeal: halfRate && ofIdeal(halfRate),
    sameRateDoubleConcurrencyOfIdeal: sameRate && ofIdeal(sameRate),
    concurrency64LoopEventsPerSecond: loop && Math.round(loop.result.eventsPerSecond),
    concurrency64LoopOfIdeal: loop && ofIdeal(loop),
    concurrency64OfLoop:
      at64 && loop ? round(at64.result.eventsPerSecond / loop.result.eventsPerSecond, 3) : undefined,
    concurrency64WorkerCpuMicrosPerEvent: cpu?.worker,
    concurrency64LoopCpuMicrosPerEvent: cpu?.loop,
    concurrency64CpuPerEventOfLoop: cpu?.ratio,
    concurrency64Every1000CpuPerEventOfLoop: cpuSparse?.ratio,
    concurrency64CheckpointingLoopEventsPerSecond:
      checkpointing && Math.round(checkpointing.result.eventsPerSecond),
    concurrency64CheckpointingLoopCpuMicrosPerEvent: cpuCheckpointing?.loop,
    concurrency64CpuPerEventOfCheckpointingLoop: cpuCheckpointing?.ratio,
    concurrency64OfCpuCeiling:
      at64 && ceiling > 0 ? round(at64.result.eventsPerSecond / ceiling, 3) : undefined,
    levels: slow.map((r) => ({
      concurrency: r.concurrency,
      ordering: r.ordering,
      eventsPerSecond: Math.round(r.result.eventsPerSecond),
      ofIdeal: ofIdeal(r),
      workerCpuPercent: Math.round((100 * (r.result.cpu.seconds.self ?? 0)) / r.result.cpu.wallSeconds),
      eventsPerWorkerCpuSecond: Math.round(r.result.eventsPerConsumerCpuSecond),
      emulatorCpuPercent: Math.round((100 * (r.result.cpu.seconds.emulator ?? 0)) / r.result.cpu.wallSeconds),
    })),
    cpuCeilingWorkerCpuPercent: (() => {
      const c = rows.find((r) => r.ideal === undefined)?.result.cpu;
      return c ? Math.round((100 * (c.seconds.self ?? 0)) / c.wallSeconds) : undefined;
    })(),
    firstLevelUnder80PercentOfIdeal: limited?.concurrency,
    slowHandlerEventsPerWorkerCpuSecond: Math.round(perCore),
    cpuLimitBitesAtConcurrency: bitesAt === undefined ? undefined : Math.round(bitesAt),
    stackCpuMicrosPerEventAt64: machine && round(machine.microsPerEvent, 1),
    machineCpuLimitEventsPerSecond: machine && Math.round(machine.eventsPerSecond),
    machineCpuLimitConcurrency: machine && Math.round(machine.concurrency),
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
    cpus: availableParallelism(),
  });
}

/**
 * CPU of this process per event, microseconds, for the worker and the hand-written loop at the
 * same concurrency, and their ratio: unlike events per second it does not move with the load of
 * the other processes on the machine.
 */
function cpuPerEvent(worker: Row, loop: Row): { worker: number; loop: number; ratio: number } | undefined {
  const micros = (row: Row) =>
    row.result.eventsPerConsumerCpuSecond > 0 ? 1e6 / row.result.eventsPerConsumerCpuSecond : undefined;
  const w = micros(worker);
  const l = micros(loop);
  if (w === undefined || l === undefined) return undefined;
  return { worker: round(w, 1), loop: round(l, 1), ratio: round(w / l, 3) };
}

/** A run's events per second as a share of its ideal. */
function ofIdeal(row: Row): number {
  return round(row.result.eventsPerSecond / (row.ideal ?? 1), 3);
}

/**
 * Where this machine's CPU runs out for the whole stack: the worker shares the cores with the
 * emulator and Azurite, which a production worker does not. From the CPU all three spent over a
 * run (start-up included, so a little high) per event processed.
 */
function machineLimit(
  result: ScenarioResult,
): { microsPerEvent: number; cores: number; eventsPerSecond: number; concurrency: number } | undefined {
  const seconds = Object.values(result.cpu.seconds).reduce<number>((sum, s) => sum + (s ?? 0), 0);
  if (seconds <= 0 || result.events === 0) return undefined;
  const cores = availableParallelism();
  const eventsPerSecond = (cores * result.events) / seconds;
  return {
    microsPerEvent: (seconds * 1e6) / result.events,
    cores,
    eventsPerSecond,
    concurrency: (eventsPerSecond * delayMs) / (PARTITIONS * 1000),
  };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
