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
 * Every scenario reads the same pre-sent backlog from the start in its own consumer group. (1) and
 * (2) run in --repeat rounds in alternating order; the headline is the median of the paired ratios
 * (2)/(1). Memory per partition is one batch, not one window (the files are block blobs committed
 * per batch), so the peak should not grow with the window.
 *
 * Run: npx tsx bench/archive-throughput.ts [--events 100000] [--partitions 8] [--body-size 512]
 *        [--max-batch-size 100] [--repeat 3] [--cap-s 120]
 * Targets: (2)/(1) ≥ 0.7; (3) peak RSS ≤ 250 MB.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { fromBlobMetadata } from "../src/handlers/builtins/archive/storage.js";
import { wholeNumber } from "./lib/args.js";
import { note, printFigures, printTable, round } from "./lib/report.js";
import type { ReceiveSettings, ScenarioResult } from "./lib/sdk-scenarios.js";
import { type BenchStack, fillBacklog, startBenchStack } from "./lib/stack.js";
import { ratio, spread } from "./lib/stats.js";
import { handlerFixture, runWorkerScenario } from "./lib/worker-scenario.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "100000" },
    partitions: { type: "string", default: "8" },
    "body-size": { type: "string", default: "512" },
    "max-batch-size": { type: "string", default: "100" },
    repeat: { type: "string", default: "3" },
    "cap-s": { type: "string", default: "120" },
  },
});

const positive = (name: keyof typeof values): number => wholeNumber(values[name], name);
const events = positive("events");
const partitions = positive("partitions");
const bodySize = positive("body-size");
const repeat = positive("repeat");
const capMs = positive("cap-s") * 1000;
const settings: ReceiveSettings = {
  maxBatchSize: positive("max-batch-size"),
  prefetchCount: 3 * positive("max-batch-size"),
  updateIntervalMs: 2000,
};
const MB = 1024 * 1024;
const WINDOW_BYTES = 100 * MB;
const BUILD_DIR = fileURLToPath(new URL("../node_modules/.cache/ehw-bench/dist", import.meta.url));

function consumerGroups(): string[] {
  const groups = ["rss"];
  for (let r = 0; r < repeat; r++) groups.push(`noop-${r}`, `archive-${r}`);
  return groups;
}

async function throughputRounds(
  stack: BenchStack,
): Promise<Array<{ noop: ScenarioResult; archive: ScenarioResult }>> {
  const noop = await handlerFixture("noop-handler.mjs");
  const archive = await handlerFixture("archive-probe.ts");
  const rounds: Array<{ noop: ScenarioResult; archive: ScenarioResult }> = [];
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
                  storageConnectionString: stack.storageConnectionString,
                  namespace: "bench",
                  windowBytes: WINDOW_BYTES,
                },
        },
        settings,
        { target: events, capMs },
      );
    // Alternate which runs first, so that neither always meets the same neighbours' load.
    const first = r % 2 === 0 ? "noop" : "archive";
    const a = await run(first);
    const b = await run(first === "noop" ? "archive" : "noop");
    rounds.push(first === "noop" ? { noop: a, archive: b } : { noop: b, archive: a });
  }
  return rounds;
}

/** Compiles src/ for the worker process, as worker-memory does; returns `ehw` as node + script. */
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

function statusBytes(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    );
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function archivedCount(container: ContainerClient): Promise<number> {
  let count = 0;
  for await (const blob of container.listBlobsFlat({ includeMetadata: true })) {
    count += fromBlobMetadata(blob.metadata)?.eventCount ?? 0;
  }
  return count;
}

/** (3): `ehw run` archiving the backlog in its own process; its peak RSS and rate. */
async function peakMemory(
  stack: BenchStack,
): Promise<{ peakRssMb: number; eventsPerSecond: number; seconds: number }> {
  const script = builtEhw();
  const dir = await mkdtemp(join(tmpdir(), "ehw-archive-bench-"));
  const archiveName = "archive-rss";
  const config = join(dir, "worker.json");
  writeFileSync(
    config,
    JSON.stringify({
      handlers: {
        archive: { builtin: "archive", options: { container: archiveName, windowBytes: WINDOW_BYTES } },
      },
      pipelines: { default: ["archive"] },
    }),
  );
  await stack.container("ckpt-rss");
  const child = spawn(process.execPath, [script, "run", "--config", config], {
    env: {
      PATH: process.env.PATH,
      EHW_EVENTHUB_CONNECTION_STRING: stack.eventHubsConnectionString,
      EHW_EVENTHUB_NAME: stack.hub,
      EHW_CONSUMER_GROUP: "rss",
      EHW_STORAGE_CONNECTION_STRING: stack.storageConnectionString,
      EHW_CONTAINER_NAME: "ckpt-rss",
      EHW_STRATEGY: "greedy",
      EHW_MAX_BATCH_SIZE: String(settings.maxBatchSize),
      EHW_PREFETCH_COUNT: String(settings.prefetchCount),
      EHW_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const pid = child.pid as number;
  const container = BlobServiceClient.fromConnectionString(stack.storageConnectionString).getContainerClient(
    archiveName,
  );
  const started = performance.now();
  let peak = 0;
  let firstAt: number | undefined;
  try {
    for (;;) {
      peak = Math.max(peak, statusBytes(pid, "VmRSS") ?? 0);
      const count = await archivedCount(container).catch(() => 0);
      if (count > 0 && firstAt === undefined) firstAt = performance.now();
      if (count >= events) break;
      if (performance.now() - started > capMs)
        throw new Error(`archive held ${count}/${events} after the cap`);
      if (child.exitCode !== null) throw new Error(`ehw run exited with ${child.exitCode}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    peak = Math.max(peak, statusBytes(pid, "VmHWM") ?? 0);
    const seconds = (performance.now() - (firstAt ?? started)) / 1000;
    return {
      peakRssMb: round(peak / MB, 1),
      eventsPerSecond: Math.round(events / seconds),
      seconds: round(seconds, 1),
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  note(
    `cores ${availableParallelism()}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const stack = await startBenchStack({ partitionCount: partitions, consumerGroups: consumerGroups() });
  try {
    const backlog = await fillBacklog(stack, events, bodySize);
    note(`backlog: ${backlog.events} events of ${bodySize} B over ${partitions} partitions`);
    const rounds = await throughputRounds(stack);
    printTable(
      rounds.flatMap((r) =>
        [r.noop, r.archive].map((s) => ({
          scenario: s.scenario,
          events: s.events,
          seconds: round(s.seconds),
          "events/s": Math.round(s.eventsPerSecond),
          capped: s.capped ? "yes" : "",
        })),
      ),
    );
    const ratios = spread(rounds.map((r) => ratio(r.archive.eventsPerSecond, r.noop.eventsPerSecond)));
    const memory = await peakMemory(stack);
    note(
      `archive/noop ${ratios.median.toFixed(3)} (range ${ratios.min.toFixed(3)}–${ratios.max.toFixed(3)}, target ≥ 0.7); ` +
        `ehw run archiving ${partitions} partitions, 100 MiB windows: peak RSS ${memory.peakRssMb} MB at ${memory.eventsPerSecond} events/s`,
    );
    printFigures("archive-throughput", {
      events,
      partitions,
      bodySizeBytes: bodySize,
      noopEventsPerSecondMedian: Math.round(spread(rounds.map((r) => r.noop.eventsPerSecond)).median),
      archiveEventsPerSecondMedian: Math.round(spread(rounds.map((r) => r.archive.eventsPerSecond)).median),
      archiveToNoopMedian: round(ratios.median, 3),
      archiveToNoopMin: round(ratios.min, 3),
      archiveToNoopMax: round(ratios.max, 3),
      windowBytes: WINDOW_BYTES,
      peakRssMb: memory.peakRssMb,
      processEventsPerSecond: memory.eventsPerSecond,
    });
  } finally {
    await stack.stop();
  }
}

await main();
