/**
 * Archive throughput against the no-op handler, and the archiving worker's peak memory, in one run
 * against one emulator and one Azurite (loopback only):
 *
 *   (1) the Worker in this process with the no-op handler fixture;
 *   (2) the same Worker with the `archive` built-in (deflate, 300 s / 100 MiB windows), counted only
 *       once its batch is committed to Azurite;
 *   (3) `ehw run` with the archive as its own process (compiled to JavaScript), 8 partitions and
 *       100 MiB windows, sampled from /proc/<pid>/status until the archive holds the backlog:
 *       VmHWM is the kernel's own peak RSS.
 *
 *   (4) the same `ehw run` with the no-op handler: the control for (3), so that what the archive
 *       adds to a worker's memory shows apart from the worker's own.
 *
 * Every scenario reads the same pre-sent backlog from the start in its own consumer group. (1) and
 * (2) run in --repeat rounds in alternating order; the headline is the median of the paired ratios
 * (2)/(1), next to the CPU seconds each process used. Memory per partition is one batch, not one
 * window (the files are block blobs committed per batch), so the peak should not grow with the
 * window: (3) − (4) divided by the partitions is the archive's memory per partition. Most of an
 * uncapped worker's RSS is garbage V8 has not collected yet; `--max-old-space-mb` caps both
 * processes' old space, as a container deployment would, so that the peak shows what they hold.
 *
 * Controls: `--codec null` archives without compression; `--sink discard` sends (2)'s uploads to a
 * stand-in that keeps nothing (bench/fixtures/discard-blob-sink.mjs), which shows how much of the
 * gap to (1) is Azurite's work on the same cores rather than the archive's.
 *
 * Run: npx tsx bench/archive-throughput.ts [--events 100000] [--partitions 8] [--body-size 512]
 *        [--max-batch-size 500] [--repeat 3] [--cap-s 120] [--codec deflate|null]
 *        [--sink azurite|discard] [--memory yes|no] [--max-old-space-mb N]
 * Targets: (2)/(1) ≥ 0.7; (3) peak RSS ≤ 250 MB.
 */
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { fromBlobMetadata } from "../src/handlers/builtins/archive/storage.js";
import { wholeNumber } from "./lib/args.js";
import { processCpuSeconds } from "./lib/cpu.js";
import { type DiscardSink, startDiscardSink } from "./lib/discard-sink.js";
import { note, printFigures, printTable, round } from "./lib/report.js";
import { RssSampler } from "./lib/rss.js";
import type { ReceiveSettings, ScenarioResult } from "./lib/sdk-scenarios.js";
import { type BenchStack, fillBacklog, startBenchStack } from "./lib/stack.js";
import { ratio, spread } from "./lib/stats.js";
import { handlerFixture, runWorkerScenario } from "./lib/worker-scenario.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "100000" },
    partitions: { type: "string", default: "8" },
    "body-size": { type: "string", default: "512" },
    // What docs/archive.md gives archive pipelines: each batch costs two storage requests.
    "max-batch-size": { type: "string", default: "500" },
    repeat: { type: "string", default: "3" },
    "cap-s": { type: "string", default: "120" },
    codec: { type: "string", default: "deflate" },
    sink: { type: "string", default: "azurite" },
    memory: { type: "string", default: "yes" },
    "max-old-space-mb": { type: "string" },
  },
});

function choice<T extends string>(name: "codec" | "sink" | "memory", allowed: readonly T[]): T {
  const value = values[name] as T;
  if (!allowed.includes(value)) throw new Error(`--${name} must be one of ${allowed.join(", ")}`);
  return value;
}

const positive = (name: "events" | "partitions" | "body-size" | "max-batch-size" | "repeat" | "cap-s") =>
  wholeNumber(values[name], name);
const events = positive("events");
const partitions = positive("partitions");
const bodySize = positive("body-size");
const repeat = positive("repeat");
const capMs = positive("cap-s") * 1000;
const codec = choice("codec", ["deflate", "null"] as const);
const sinkKind = choice("sink", ["azurite", "discard"] as const);
const measureMemory = choice("memory", ["yes", "no"] as const) === "yes";
const oldSpaceCap = values["max-old-space-mb"];
const workerNodeArgs =
  oldSpaceCap === undefined
    ? []
    : [`--max-old-space-size=${wholeNumber(oldSpaceCap, "max-old-space-mb", 16)}`];
const settings: ReceiveSettings = {
  maxBatchSize: positive("max-batch-size"),
  prefetchCount: 3 * positive("max-batch-size"),
  updateIntervalMs: 2000,
};
const MB = 1024 * 1024;
const WINDOW_BYTES = 100 * MB;
// Not worker-memory's directory: two benchmarks compiling into one place at once would mix builds.
const BUILD_DIR = fileURLToPath(new URL("../node_modules/.cache/ehw-bench/archive-dist", import.meta.url));

function consumerGroups(): string[] {
  const groups = ["rss-archive", "rss-noop"];
  for (let r = 0; r < repeat; r++) groups.push(`noop-${r}`, `archive-${r}`);
  return groups;
}

interface Round {
  noop: ScenarioResult;
  archive: ScenarioResult;
  /** CPU seconds of the discard sink during the archive run; undefined with Azurite. */
  sinkCpuSeconds?: number;
}

async function throughputRounds(stack: BenchStack, sink: DiscardSink | undefined): Promise<Round[]> {
  const noop = await handlerFixture("noop-handler.mjs");
  const archive = await handlerFixture("archive-probe.ts");
  const storage = sink?.connectionString ?? stack.storageConnectionString;
  const rounds: Round[] = [];
  for (let r = 0; r < repeat; r++) {
    const run = (kind: "noop" | "archive") =>
      runWorkerScenario(
        stack,
        {
          name: `${kind}-${r}`,
          consumerGroup: `${kind}-${r}`,
          containerName: `ckpt-${kind}-${r}`,
          checkpointEvery: 100,
          concurrency: 16,
          ordering: "partition",
          handler: kind === "noop" ? noop : archive,
          handlerOptions:
            kind === "noop"
              ? undefined
              : {
                  container: `archive-${r}`,
                  storageConnectionString: storage,
                  namespace: "bench",
                  windowBytes: WINDOW_BYTES,
                  codec,
                },
        },
        settings,
        { target: events, capMs },
      );
    const sinkBefore = sink === undefined ? undefined : processCpuSeconds(sink.pid);
    const archiveRun = async () => {
      const result = await run("archive");
      const after = sink === undefined ? undefined : processCpuSeconds(sink.pid);
      return {
        result,
        sinkCpu: after === undefined || sinkBefore === undefined ? undefined : after - sinkBefore,
      };
    };
    // Alternate which runs first, so that neither always meets the same neighbours' load.
    if (r % 2 === 0) {
      const n = await run("noop");
      const a = await archiveRun();
      rounds.push({ noop: n, archive: a.result, sinkCpuSeconds: a.sinkCpu });
    } else {
      const a = await archiveRun();
      const n = await run("noop");
      rounds.push({ noop: n, archive: a.result, sinkCpuSeconds: a.sinkCpu });
    }
  }
  return rounds;
}

/** Compiles src/ for the worker process; returns `ehw`'s script. */
function builtEhw(): string {
  const require = createRequire(import.meta.url);
  const tsc = require.resolve("typescript/bin/tsc");
  const project = fileURLToPath(new URL("../tsconfig.build.json", import.meta.url));
  note("compiling src/ for the worker process");
  const result = spawnSync(process.execPath, [tsc, "-p", project, "--outDir", BUILD_DIR], {
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`tsc failed: ${result.stdout}${result.stderr}`);
  return join(BUILD_DIR, "cli", "index.js");
}

async function archivedCount(container: ContainerClient): Promise<number> {
  let count = 0;
  for await (const blob of container.listBlobsFlat({ includeMetadata: true })) {
    count += fromBlobMetadata(blob.metadata)?.eventCount ?? 0;
  }
  return count;
}

/** Events checkpointed over all partitions (checkpoint sequence number + 1 each). */
async function checkpointedCount(container: ContainerClient): Promise<number> {
  let count = 0;
  for await (const blob of container.listBlobsFlat({ includeMetadata: true })) {
    const seq = Number(blob.metadata?.sequencenumber);
    if (blob.name.includes("/checkpoint/") && Number.isFinite(seq)) count += seq + 1;
  }
  return count;
}

/** What one `ehw run` process measured. */
interface ProcessRun {
  peakRssMb: number;
  eventsPerSecond: number;
  seconds: number;
  cpuSeconds: number | undefined;
}

/**
 * (3) or (4): `ehw run` over the backlog in its own process, until the archive holds it (3) or the
 * checkpoints reach it (4, less the last partial interval of each partition); its peak RSS and rate.
 */
async function processRun(stack: BenchStack, script: string, kind: "archive" | "noop"): Promise<ProcessRun> {
  const dir = await mkdtemp(join(tmpdir(), "ehw-archive-bench-"));
  const archiveName = "archive-rss";
  const checkpoints = `ckpt-rss-${kind}`;
  const config = join(dir, "worker.json");
  const handler =
    kind === "archive"
      ? { builtin: "archive", options: { container: archiveName, windowBytes: WINDOW_BYTES, codec } }
      : { module: fileURLToPath(new URL("./fixtures/noop-handler.mjs", import.meta.url)) };
  writeFileSync(config, JSON.stringify({ handlers: { main: handler }, pipelines: { default: ["main"] } }));
  await stack.container(checkpoints);
  const child = spawn(process.execPath, [...workerNodeArgs, script, "run", "--config", config], {
    env: {
      PATH: process.env.PATH,
      EHW_EVENTHUB_CONNECTION_STRING: stack.eventHubsConnectionString,
      EHW_EVENTHUB_NAME: stack.hub,
      EHW_CONSUMER_GROUP: `rss-${kind}`,
      EHW_STORAGE_CONNECTION_STRING: stack.storageConnectionString,
      EHW_CONTAINER_NAME: checkpoints,
      EHW_STRATEGY: "greedy",
      EHW_MAX_BATCH_SIZE: String(settings.maxBatchSize),
      EHW_PREFETCH_COUNT: String(settings.prefetchCount),
      EHW_CHECKPOINT_EVERY: "100",
      EHW_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const pid = child.pid as number;
  const storage = BlobServiceClient.fromConnectionString(stack.storageConnectionString);
  const progress =
    kind === "archive"
      ? () => archivedCount(storage.getContainerClient(archiveName))
      : () => checkpointedCount(storage.getContainerClient(checkpoints));
  // The no-op worker checkpoints every 100 events, so up to 99 per partition stay unreported.
  const target = kind === "archive" ? events : events - 99 * partitions;
  const rss = new RssSampler(pid);
  const started = performance.now();
  let firstAt: number | undefined;
  try {
    for (;;) {
      rss.sample();
      const count = await progress().catch(() => 0);
      if (count > 0 && firstAt === undefined) firstAt = performance.now();
      if (count >= target) break;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `ehw run exited (${child.exitCode ?? child.signalCode}) with ${count}/${target} archived`,
        );
      }
      if (performance.now() - started > capMs) throw new Error(`${kind}: ${count}/${target} after the cap`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const seconds = (performance.now() - (firstAt ?? started)) / 1000;
    return {
      peakRssMb: round(rss.peakBytes() / MB, 1),
      eventsPerSecond: Math.round(target / seconds),
      seconds: round(seconds, 1),
      cpuSeconds: processCpuSeconds(pid),
    };
  } finally {
    // A child that already exited (out of heap, say) emits no second "exit": waiting would hang.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
}

const cpuOf = (s: ScenarioResult, name: string): number | undefined => {
  const v = s.cpu.seconds[name];
  return v === undefined ? undefined : round(v, 1);
};

function printRounds(rounds: readonly Round[]): void {
  printTable(
    rounds.flatMap((r) =>
      [r.noop, r.archive].map((s) => ({
        scenario: s.scenario,
        events: s.events,
        seconds: round(s.seconds),
        "events/s": Math.round(s.eventsPerSecond),
        "worker cpu-s": cpuOf(s, "self"),
        "emulator cpu-s": cpuOf(s, "emulator"),
        "azurite cpu-s": cpuOf(s, "azurite"),
        "sink cpu-s":
          s === r.archive && r.sinkCpuSeconds !== undefined ? round(r.sinkCpuSeconds, 1) : undefined,
        capped: s.capped ? "yes" : "",
      })),
    ),
  );
}

const medianOf = (rounds: readonly Round[], pick: (r: Round) => number): number =>
  spread(rounds.map(pick)).median;

/**
 * Median CPU microseconds per event of each process, so that runs under different neighbours'
 * load compare. Blob storage is Azurite, or the discard sink in the archive run with `--sink discard`
 * (the no-op run's checkpoints still go to Azurite then).
 */
function cpuPerEvent(rounds: readonly Round[]): Record<string, number> {
  const us = (pick: (r: Round) => number | undefined) =>
    Math.round((medianOf(rounds, (r) => pick(r) ?? 0) / events) * 1e6);
  return {
    noopWorker: us((r) => r.noop.cpu.seconds.self),
    archiveWorker: us((r) => r.archive.cpu.seconds.self),
    noopStorage: us((r) => r.noop.cpu.seconds.azurite),
    archiveStorage: us((r) => (r.sinkCpuSeconds ?? 0) + (r.archive.cpu.seconds.azurite ?? 0)),
    noopEmulator: us((r) => r.noop.cpu.seconds.emulator),
    archiveEmulator: us((r) => r.archive.cpu.seconds.emulator),
  };
}

async function main(): Promise<void> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
  const loadBefore = load();
  note(`cores ${availableParallelism()}, load ${loadBefore}; codec ${codec}, archive storage ${sinkKind}`);
  const stack = await startBenchStack({ partitionCount: partitions, consumerGroups: consumerGroups() });
  const sink = sinkKind === "discard" ? await startDiscardSink() : undefined;
  try {
    const backlog = await fillBacklog(stack, events, bodySize);
    note(`backlog: ${backlog.events} events of ${bodySize} B over ${partitions} partitions`);
    const rounds = await throughputRounds(stack, sink);
    printRounds(rounds);
    const ratios = spread(rounds.map((r) => ratio(r.archive.eventsPerSecond, r.noop.eventsPerSecond)));
    note(
      `archive/noop ${ratios.median.toFixed(3)} (range ${ratios.min.toFixed(3)}–${ratios.max.toFixed(3)}, target ≥ 0.7)`,
    );
    const perEvent = cpuPerEvent(rounds);
    note(
      `CPU per event (µs, medians): worker ${perEvent.archiveWorker} archive vs ${perEvent.noopWorker} no-op; ` +
        `blob storage (${sinkKind}) ${perEvent.archiveStorage} vs ${perEvent.noopStorage}; emulator ${perEvent.archiveEmulator} vs ${perEvent.noopEmulator}`,
    );
    let memory: { archive: ProcessRun; noop: ProcessRun } | undefined;
    if (measureMemory) {
      const script = builtEhw();
      memory = {
        archive: await processRun(stack, script, "archive"),
        noop: await processRun(stack, script, "noop"),
      };
      const perPartition = (memory.archive.peakRssMb - memory.noop.peakRssMb) / partitions;
      note(
        `ehw run, ${partitions} partitions, 100 MiB windows: archive peak RSS ${memory.archive.peakRssMb} MB at ${memory.archive.eventsPerSecond} events/s; ` +
          `no-op ${memory.noop.peakRssMb} MB at ${memory.noop.eventsPerSecond} events/s; archive adds ${round(perPartition, 1)} MB per partition`,
      );
    }
    const median = (pick: (r: Round) => number) => Math.round(medianOf(rounds, pick));
    printFigures("archive-throughput", {
      events,
      partitions,
      bodySizeBytes: bodySize,
      codec,
      archiveStorage: sinkKind,
      noopEventsPerSecondMedian: median((r) => r.noop.eventsPerSecond),
      archiveEventsPerSecondMedian: median((r) => r.archive.eventsPerSecond),
      archiveToNoopMedian: round(ratios.median, 3),
      archiveToNoopMin: round(ratios.min, 3),
      archiveToNoopMax: round(ratios.max, 3),
      noopWorkerCpuSecondsMedian: round(
        medianOf(rounds, (r) => r.noop.cpu.seconds.self ?? 0),
        1,
      ),
      archiveWorkerCpuSecondsMedian: round(
        medianOf(rounds, (r) => r.archive.cpu.seconds.self ?? 0),
        1,
      ),
      noopAzuriteCpuSecondsMedian: round(
        medianOf(rounds, (r) => r.noop.cpu.seconds.azurite ?? 0),
        1,
      ),
      archiveAzuriteCpuSecondsMedian: round(
        medianOf(rounds, (r) => r.archive.cpu.seconds.azurite ?? 0),
        1,
      ),
      cpuMicrosecondsPerEvent: perEvent,
      windowBytes: WINDOW_BYTES,
      maxOldSpaceMb: oldSpaceCap === undefined ? null : Number(oldSpaceCap),
      peakRssMb: memory?.archive.peakRssMb,
      noopPeakRssMb: memory?.noop.peakRssMb,
      archiveRssMbPerPartition:
        memory === undefined
          ? undefined
          : round((memory.archive.peakRssMb - memory.noop.peakRssMb) / partitions, 1),
      processEventsPerSecond: memory?.archive.eventsPerSecond,
      loadAverageBefore: loadBefore,
      loadAverageAfter: load(),
    });
  } finally {
    await sink?.stop();
    await stack.stop();
  }
}

await main();
