/**
 * Worker throughput against its ceiling and against the common hand-written consumer, in one run
 * against one emulator and one Azurite (each its own process, loopback only):
 *
 *   (1) SDK `subscribe`, no checkpoint store, no-op handler — the ceiling;
 *   (2) SDK `subscribe` + BlobCheckpointStore + `context.updateCheckpoint(event)` after every
 *       event — slow, so it runs under a time cap and reports the rate it reached;
 *   (3) eventhub-worker (the Worker, in this process), no-op handler, checkpointEvery 100 and 1000.
 *
 * A backlog of small events is pre-sent over the hub's partitions; every scenario reads all of it
 * from the start in its own consumer group, with its own blob container. Rates are measured from
 * the first event to the last, so connecting and claiming partitions are reported separately.
 *
 * Run: npx tsx bench/worker-throughput.ts [--events 200000] [--partitions 4] [--body-size 100]
 *        [--max-batch-size 100] [--prefetch 300] [--cap-s 120] [--slow-cap-s 20] [--repeat 1]
 * With --repeat N the fast scenarios run N times, interleaved, and each reports its best run:
 * on a shared machine the best run is the one least disturbed by other processes.
 * Targets: (3)/(1) ≥ 0.9, (3)/(2) ≥ 10.
 */
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { note, printFigures, printTable, round } from "./lib/report.js";
import {
  checkpointEveryEvent,
  type ReceiveSettings,
  rawSubscribe,
  type ScenarioResult,
} from "./lib/sdk-scenarios.js";
import { fillBacklog, startBenchStack } from "./lib/stack.js";
import { handlerFixture, runWorkerScenario } from "./lib/worker-scenario.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "200000" },
    partitions: { type: "string", default: "4" },
    "body-size": { type: "string", default: "100" },
    "max-batch-size": { type: "string", default: "100" },
    prefetch: { type: "string", default: "300" },
    "cap-s": { type: "string", default: "120" },
    "slow-cap-s": { type: "string", default: "20" },
    repeat: { type: "string", default: "1" },
  },
});

function positive(name: keyof typeof values): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
  return n;
}

const events = positive("events");
const settings: ReceiveSettings = {
  maxBatchSize: positive("max-batch-size"),
  prefetchCount: positive("prefetch"),
  updateIntervalMs: 1000,
};
const capMs = positive("cap-s") * 1000;
const slowCapMs = positive("slow-cap-s") * 1000;

const FAST = ["raw", "w100", "w1000"] as const;
type Fast = (typeof FAST)[number];

async function runFast(
  kind: Fast,
  round: number,
  stack: Awaited<ReturnType<typeof startBenchStack>>,
): Promise<ScenarioResult> {
  const target = { target: events, capMs };
  const group = `${kind}-${round}`;
  if (kind === "raw") return rawSubscribe(stack, group, settings, target);
  const every = kind === "w100" ? 100 : 1000;
  const noop = await handlerFixture("noop-handler.mjs");
  return runWorkerScenario(
    stack,
    {
      name: `eventhub-worker, checkpointEvery ${every}`,
      consumerGroup: group,
      containerName: group,
      handler: noop,
      checkpointEvery: every,
      concurrency: 16,
      ordering: "partition",
    },
    settings,
    target,
  );
}

/** The best (fastest) of several runs of one scenario. */
function best(runs: ScenarioResult[]): ScenarioResult {
  return runs.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));
}

async function main(): Promise<void> {
  const repeat = positive("repeat");
  const groups = ["percall"];
  for (let r = 1; r <= repeat; r++) groups.push(...FAST.map((kind) => `${kind}-${r}`));
  const stack = await startBenchStack({ partitionCount: positive("partitions"), consumerGroups: groups });
  try {
    note(`sending a backlog of ${events} events of ${values["body-size"]} bytes`);
    const backlog = await fillBacklog(stack, events, positive("body-size"));
    note(`backlog sent: ${round(backlog.eventsPerSecond, 0)} events/s`);
    const runs = new Map<Fast, ScenarioResult[]>(FAST.map((kind) => [kind, []]));
    for (let r = 1; r <= repeat; r++) {
      for (const kind of FAST) {
        const result = await runFast(kind, r, stack);
        note(`${result.scenario} (run ${r}): ${Math.round(result.eventsPerSecond)} events/s`);
        runs.get(kind)?.push(result);
      }
    }
    const perEvent = await checkpointEveryEvent(stack, "percall", "percall", settings, {
      target: events,
      capMs: slowCapMs,
    });
    const results = [...FAST.map((kind) => best(runs.get(kind) ?? [])), perEvent];
    report(results, backlog.eventsPerSecond, runs);
  } finally {
    await stack.stop();
  }
}

function report(results: ScenarioResult[], sendRate: number, runs: Map<Fast, ScenarioResult[]>): void {
  const [raw, w100, w1000, perEvent] = results as [
    ScenarioResult,
    ScenarioResult,
    ScenarioResult,
    ScenarioResult,
  ];
  printTable(
    results.map((r) => ({
      scenario: r.scenario,
      events: r.events,
      seconds: round(r.seconds, 2),
      "events/s": Math.round(r.eventsPerSecond),
      "startup ms": r.startupMs === undefined ? undefined : Math.round(r.startupMs),
      "consumer CPU s": round(r.cpu.seconds.self ?? 0, 2),
      "events/CPU-s": Math.round(r.eventsPerConsumerCpuSecond),
      "emulator CPU s": round(r.cpu.seconds.emulator ?? 0, 2),
      capped: r.capped ? "yes" : "no",
    })),
  );
  const ratio = (a: ScenarioResult, b: ScenarioResult) =>
    b.eventsPerSecond > 0 ? a.eventsPerSecond / b.eventsPerSecond : 0;
  const cpuRatio = (a: ScenarioResult, b: ScenarioResult) =>
    b.eventsPerConsumerCpuSecond > 0 ? a.eventsPerConsumerCpuSecond / b.eventsPerConsumerCpuSecond : 0;
  console.log("");
  for (const w of [w100, w1000]) {
    console.log(
      `${w.scenario}: ${round(ratio(w, raw), 3)} × the ceiling (target ≥ 0.9), ${round(ratio(w, perEvent), 1)} × checkpoint-per-event (target ≥ 10); per consumer CPU-second ${round(cpuRatio(w, raw), 3)} × the ceiling`,
    );
  }
  printFigures("worker-throughput", {
    events,
    partitions: positive("partitions"),
    bodySizeBytes: positive("body-size"),
    maxBatchSize: settings.maxBatchSize,
    prefetchCount: settings.prefetchCount,
    backlogSendEventsPerSecond: round(sendRate, 0),
    rawEventsPerSecond: round(raw.eventsPerSecond, 0),
    perEventCheckpointEventsPerSecond: round(perEvent.eventsPerSecond, 0),
    worker100EventsPerSecond: round(w100.eventsPerSecond, 0),
    worker1000EventsPerSecond: round(w1000.eventsPerSecond, 0),
    worker100VsRaw: round(ratio(w100, raw), 3),
    worker1000VsRaw: round(ratio(w1000, raw), 3),
    worker100VsPerEvent: round(ratio(w100, perEvent), 1),
    rawEventsPerConsumerCpuSecond: Math.round(raw.eventsPerConsumerCpuSecond),
    worker100EventsPerConsumerCpuSecond: Math.round(w100.eventsPerConsumerCpuSecond),
    worker1000EventsPerConsumerCpuSecond: Math.round(w1000.eventsPerConsumerCpuSecond),
    perEventCheckpointEventsPerConsumerCpuSecond: Math.round(perEvent.eventsPerConsumerCpuSecond),
    worker100VsRawPerCpuSecond: round(cpuRatio(w100, raw), 3),
    worker1000VsRawPerCpuSecond: round(cpuRatio(w1000, raw), 3),
    worker1000VsPerEvent: round(ratio(w1000, perEvent), 1),
    capped: results.filter((r) => r.capped).map((r) => r.scenario),
    runsEventsPerSecond: Object.fromEntries(
      [...runs].map(([kind, list]) => [kind, list.map((r) => Math.round(r.eventsPerSecond))]),
    ),
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
    cpus: availableParallelism(),
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
