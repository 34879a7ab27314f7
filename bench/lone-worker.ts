/**
 * A lone worker at its default settings on a backlog, start-up included, against the plain SDK
 * `subscribe` loop over the same backlog (one emulator and one Azurite, each its own process):
 *
 *   (1) SDK `subscribe` without a checkpoint store, no-op handler: from creating the client to the
 *       last event received;
 *   (2) the Worker (this process, built by the composition root) with every setting at its default
 *       except the connection, the hub, the consumer group, the container and the no-op handler:
 *       from creating it to every partition's checkpoint blob at that partition's last event;
 *   (3) the same with `checkpointOnCatchUp: false`: every-N-or-T alone, where the last events of a
 *       partition (fewer than N) wait up to T for their checkpoint.
 *
 * (2) does more than (1) — it claims the partitions through the load balancer and checkpoints —
 * so the ratio (1)/(2) in seconds is what a user pays for a checkpointed, load-balanced consumer
 * on a backlog at the defaults; (1)/(3) is the same without the catch-up rule. The "tail" is done
 * minus the last event handled: how long the last checkpoint trailed the work. The SDK loop receives with the worker's default batch size and
 * prefetch (100, 300), so that both read alike. Rounds rotate which of the three runs first; the
 * headline is the median of the paired ratios. Target: ≥ 0.9.
 *
 * The default backlog, 200,050 events, leaves each of 4 partitions ending 12-14 events past a
 * multiple of the default `checkpointEvery` (100), as a real backlog's end does: one ending on a
 * multiple would end on a count-rule checkpoint and hide the tail that catching up removes.
 *
 * Run: npm run bench -- lone-worker [-- --events 200050 --partitions 4 --repeat 3 --cap-s 120]
 */
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { type CheckpointStore, EventHubConsumerClient, earliestEventPosition } from "@azure/event-hubs";
import { createWorker } from "../src/app/worker-app.js";
import { compileWorkerConfig, WORKER_DEFAULTS } from "../src/config/worker.js";
import { wholeNumber } from "./lib/args.js";
import { Meter } from "./lib/meter.js";
import { note, printFigures, printTable, round } from "./lib/report.js";
import { blobStore, stackCpuWindow } from "./lib/sdk-scenarios.js";
import { type BenchStack, fillBacklog, startBenchStack } from "./lib/stack.js";
import { ratio, roundOrder, spread } from "./lib/stats.js";
import { flagRawOptions, handlerFixture } from "./lib/worker-scenario.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "200050" },
    partitions: { type: "string", default: "4" },
    "body-size": { type: "string", default: "100" },
    repeat: { type: "string", default: "3" },
    "cap-s": { type: "string", default: "120" },
  },
});

const events = wholeNumber(values.events, "events");
const partitions = wholeNumber(values.partitions, "partitions");
const repeat = wholeNumber(values.repeat, "repeat");
const capMs = wholeNumber(values["cap-s"], "cap-s") * 1000;
/** Milliseconds between two reads of the checkpoint blobs while the worker runs. */
const POLL_MS = 50;

const KINDS = ["sdk", "worker", "nocatchup"] as const;
type WorkerKind = Exclude<Kind, "sdk">;
type Kind = (typeof KINDS)[number];

/** One run: seconds from start to done (undefined when the cap ended it). */
interface Run {
  seconds: number | undefined;
  /** Seconds from start to the first event handled. */
  firstEventSeconds: number | undefined;
  /** Seconds from start to the last event handled. */
  lastEventSeconds: number | undefined;
  /** CPU seconds of this process (the consumer) over the run. */
  consumerCpuSeconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every partition's last sequence number (the backlog's end), by partition id. */
async function lastSequenceNumbers(stack: BenchStack): Promise<Map<string, number>> {
  const client = new EventHubConsumerClient("$Default", stack.eventHubsConnectionString, stack.hub);
  try {
    const ids = await client.getPartitionIds();
    const out = new Map<string, number>();
    for (const id of ids) out.set(id, (await client.getPartitionProperties(id)).lastEnqueuedSequenceNumber);
    return out;
  } finally {
    await client.close();
  }
}

function timesOf(meter: Meter): Pick<Run, "firstEventSeconds" | "lastEventSeconds"> {
  const first = meter.startupMs();
  if (first === undefined) return { firstEventSeconds: undefined, lastEventSeconds: undefined };
  // The meter was created at `startedAt`: its startup is from there, its active time after that.
  return { firstEventSeconds: first / 1000, lastEventSeconds: first / 1000 + meter.activeSeconds() };
}

async function runSdk(stack: BenchStack, group: string): Promise<Run> {
  const cpu = stackCpuWindow(stack);
  const startedAt = performance.now();
  const meter = new Meter();
  const client = new EventHubConsumerClient(group, stack.eventHubsConnectionString, stack.hub);
  const subscription = client.subscribe(
    { processEvents: async (batch) => meter.add(batch.length), processError: async () => {} },
    {
      startPosition: earliestEventPosition,
      maxBatchSize: WORKER_DEFAULTS.maxBatchSize,
      prefetchCount: WORKER_DEFAULTS.prefetchCount,
      maxWaitTimeInSeconds: WORKER_DEFAULTS.maxWaitTimeMs / 1000,
    },
  );
  try {
    while (meter.count < events && performance.now() - startedAt < capMs) await sleep(POLL_MS);
  } finally {
    await subscription.close();
    await client.close();
  }
  const times = timesOf(meter);
  const consumerCpuSeconds = cpu.stop().seconds.self ?? 0;
  return {
    seconds: meter.count >= events ? times.lastEventSeconds : undefined,
    ...times,
    consumerCpuSeconds,
  };
}

async function allCheckpointed(
  store: CheckpointStore,
  stack: BenchStack,
  group: string,
  last: Map<string, number>,
): Promise<boolean> {
  const list = await store.listCheckpoints("127.0.0.1", stack.hub, group);
  const at = new Map(list.map((c) => [c.partitionId, c.sequenceNumber]));
  return [...last].every(([id, seq]) => at.get(id) === seq);
}

async function runWorker(
  stack: BenchStack,
  group: string,
  last: Map<string, number>,
  kind: WorkerKind,
): Promise<Run> {
  const noop = await handlerFixture("noop-handler.mjs");
  const store = await blobStore(stack, group);
  const raw = flagRawOptions(
    {
      eventHubConnectionString: stack.eventHubsConnectionString,
      eventHubName: stack.hub,
      consumerGroup: group,
      storageConnectionString: stack.storageConnectionString,
      containerName: group,
      logLevel: "warn",
      ...(kind === "nocatchup" ? { checkpointOnCatchUp: "false" } : {}),
    },
    noop,
  );
  const cpu = stackCpuWindow(stack);
  const startedAt = performance.now();
  const meter = new Meter();
  noop.probe.onEvents = (n) => meter.add(n);
  const worker = createWorker(compileWorkerConfig(raw, { baseDir: process.cwd() }));
  let doneAt: number | undefined;
  let consumerCpuSeconds = 0;
  try {
    await worker.start();
    while (performance.now() - startedAt < capMs) {
      if (await allCheckpointed(store, stack, group, last)) {
        doneAt = performance.now();
        consumerCpuSeconds = cpu.stop().seconds.self ?? 0;
        break;
      }
      await sleep(POLL_MS);
    }
  } finally {
    noop.probe.onEvents = () => {};
    await worker.stop({ deadlineMs: 5000 });
  }
  const seconds = doneAt === undefined ? undefined : (doneAt - startedAt) / 1000;
  return { seconds, ...timesOf(meter), consumerCpuSeconds };
}

type Round = Record<Kind, Run>;

async function runRound(r: number, stack: BenchStack, last: Map<string, number>): Promise<Round> {
  const out: Partial<Round> = {};
  for (const kind of roundOrder(KINDS, r)) {
    const group = `${kind}-${r}`;
    out[kind] = kind === "sdk" ? await runSdk(stack, group) : await runWorker(stack, group, last, kind);
    note(`round ${r} ${kind}: ${out[kind]?.seconds?.toFixed(2) ?? "capped"} s`);
  }
  return out as Round;
}

async function main(): Promise<void> {
  const groups = Array.from({ length: repeat }, (_, i) => KINDS.map((k) => `${k}-${i + 1}`)).flat();
  const stack = await startBenchStack({ partitionCount: partitions, consumerGroups: groups });
  try {
    note(`sending a backlog of ${events} events of ${values["body-size"]} bytes`);
    await fillBacklog(stack, events, wholeNumber(values["body-size"], "body-size"));
    const last = await lastSequenceNumbers(stack);
    const rounds: Round[] = [];
    for (let r = 1; r <= repeat; r++) rounds.push(await runRound(r, stack, last));
    report(rounds);
  } finally {
    await stack.stop();
  }
}

const LABELS: Record<Kind, string> = {
  sdk: "sdk subscribe, no checkpoints",
  worker: "worker, defaults",
  nocatchup: "worker, checkpointOnCatchUp false",
};

/** Done minus the last event handled, seconds: how long the last checkpoint trailed the work. */
function tailOf(run: Run): number | undefined {
  if (run.seconds === undefined || run.lastEventSeconds === undefined) return undefined;
  return run.seconds - run.lastEventSeconds;
}

/** The paired ratios SDK / `kind` over the rounds where both finished, or undefined when none did. */
function ratiosOf(rounds: Round[], kind: WorkerKind) {
  const complete = rounds.filter((r) => r.sdk.seconds !== undefined && r[kind].seconds !== undefined);
  if (complete.length === 0) return undefined;
  return {
    n: complete.length,
    seconds: spread(complete.map((r) => ratio(r.sdk.seconds ?? 0, r[kind].seconds ?? 0))),
    cpu: spread(complete.map((r) => ratio(r.sdk.consumerCpuSeconds, r[kind].consumerCpuSeconds))),
  };
}

function report(rounds: Round[]): void {
  const s = (n: number | undefined) => (n === undefined ? undefined : round(n, 2));
  printTable(
    rounds.flatMap((r, i) =>
      KINDS.map((kind) => ({
        round: i + 1,
        consumer: LABELS[kind],
        "done s": s(r[kind].seconds),
        "first event s": s(r[kind].firstEventSeconds),
        "last event s": s(r[kind].lastEventSeconds),
        "tail s": kind === "sdk" ? undefined : s(tailOf(r[kind])),
        "consumer CPU s": s(r[kind].consumerCpuSeconds),
      })),
    ),
  );
  const pair = ratiosOf(rounds, "worker");
  const without = ratiosOf(rounds, "nocatchup");
  console.log("");
  for (const [kind, p] of [
    ["worker", pair],
    ["nocatchup", without],
  ] as const) {
    if (p === undefined) {
      console.log(`${LABELS[kind]}: no round finished within the cap`);
      continue;
    }
    const { seconds: t, cpu: c } = p;
    console.log(
      `${LABELS[kind]}, start to every partition checkpointed at its last event: ` +
        `median ${t.median.toFixed(2)} × the plain SDK loop's start to last event ` +
        `(range ${t.min.toFixed(2)}–${t.max.toFixed(2)} over ${p.n} rounds; target ≥ 0.9); ` +
        `consumer CPU-seconds, the SDK loop's / this one's: median ${c.median.toFixed(2)} ` +
        `(range ${c.min.toFixed(2)}–${c.max.toFixed(2)})`,
    );
  }
  const tails = (kind: WorkerKind) => rounds.map((r) => s(tailOf(r[kind])));
  printFigures("lone-worker", {
    events,
    partitions,
    strategy: WORKER_DEFAULTS.strategy,
    updateIntervalMs: WORKER_DEFAULTS.updateIntervalMs,
    sdkSeconds: rounds.map((r) => s(r.sdk.seconds)),
    workerSeconds: rounds.map((r) => s(r.worker.seconds)),
    workerLastEventSeconds: rounds.map((r) => s(r.worker.lastEventSeconds)),
    workerTailSeconds: tails("worker"),
    workerVsSdkMedian: pair === undefined ? undefined : round(pair.seconds.median, 3),
    workerVsSdkMin: pair === undefined ? undefined : round(pair.seconds.min, 3),
    workerVsSdkMax: pair === undefined ? undefined : round(pair.seconds.max, 3),
    noCatchUpSeconds: rounds.map((r) => s(r.nocatchup.seconds)),
    noCatchUpTailSeconds: tails("nocatchup"),
    noCatchUpVsSdkMedian: without === undefined ? undefined : round(without.seconds.median, 3),
    sdkConsumerCpuSeconds: rounds.map((r) => s(r.sdk.consumerCpuSeconds)),
    workerConsumerCpuSeconds: rounds.map((r) => s(r.worker.consumerCpuSeconds)),
    noCatchUpConsumerCpuSeconds: rounds.map((r) => s(r.nocatchup.consumerCpuSeconds)),
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
    cpus: availableParallelism(),
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
