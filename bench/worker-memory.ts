/**
 * Worker memory while draining a large backlog with a slow handler: `ehw run` as its own process
 * (so its RSS is the worker's alone), reading a pre-sent backlog (1M events by default) with a
 * handler that waits per event, sampled from /proc/<pid>/status (VmRSS every 250 ms, VmHWM at the
 * end: the kernel's own peak). Progress comes from the checkpoints the worker writes to Azurite.
 * The drain is capped in time; memory is bounded by prefetch and the in-flight window, not by the
 * backlog, so a capped run still shows the plateau.
 *
 * Run: npx tsx bench/worker-memory.ts [--events 1000000] [--delay-ms 5] [--concurrency 64]
 *        [--drain-cap-s 120] [--from build|source] [--max-old-space-mb N]
 * Target: peak RSS ≤ 250 MB. By default the worker runs as it would be deployed, compiled to
 * JavaScript (tsc into node_modules/.cache/ehw-bench/dist, where node still finds the packages);
 * `--from source` runs it through the tsx loader instead, whose in-memory compiler adds RSS.
 * `--max-old-space-mb` caps the worker's V8 old space, as a container deployment would; a worker
 * that keeps running under a small cap holds little live data and its RSS is uncollected garbage.
 */
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ContainerClient } from "@azure/storage-blob";
import { ehwCommand } from "../src/local/cli-command.js";
import { wholeNumber } from "./lib/args.js";
import { processCpuSeconds } from "./lib/cpu.js";
import { note, printFigures, printTable, round } from "./lib/report.js";
import { statusBytes } from "./lib/rss.js";
import { type BenchStack, fillBacklog, startBenchStack } from "./lib/stack.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    "delay-ms": { type: "string", default: "5" },
    concurrency: { type: "string", default: "64" },
    "drain-cap-s": { type: "string", default: "120" },
    from: { type: "string", default: "build" },
    "max-old-space-mb": { type: "string" },
  },
});

function whole(name: keyof typeof values, min: number): number {
  return wholeNumber(values[name], name, min);
}

const events = whole("events", 1);
const delayMs = whole("delay-ms", 0);
const concurrency = whole("concurrency", 1);
const drainCapMs = whole("drain-cap-s", 1) * 1000;
const PARTITIONS = 4;
const MB = 1024 * 1024;
const CONSUMER_GROUP = "memory";
const CONTAINER = "memory";
const BUILD_DIR = fileURLToPath(new URL("../node_modules/.cache/ehw-bench/dist", import.meta.url));

/** Compiles src/ to JavaScript for the worker process; returns the command line of `ehw ...args`. */
function builtEhw(): (args: string[]) => { command: string; args: string[] } {
  const require = createRequire(import.meta.url);
  const tsc = require.resolve("typescript/bin/tsc");
  const project = fileURLToPath(new URL("../tsconfig.build.json", import.meta.url));
  note("compiling src/ for the worker process");
  const result = spawnSync(process.execPath, [tsc, "-p", project, "--outDir", BUILD_DIR], {
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`tsc failed: ${result.stdout}${result.stderr}`);
  return (args) => ({ command: process.execPath, args: [join(BUILD_DIR, "cli", "index.js"), ...args] });
}

/** Events checkpointed so far over all partitions (checkpoint sequence number + 1 each). */
async function checkpointed(container: ContainerClient): Promise<number> {
  let total = 0;
  for await (const blob of container.listBlobsFlat({ includeMetadata: true, prefix: "" })) {
    if (!blob.name.includes("/checkpoint/")) continue;
    const seq = Number(blob.metadata?.sequencenumber);
    if (Number.isFinite(seq)) total += seq + 1;
  }
  return total;
}

/** The `ehw run` config file: handler, processing and load balancing; secrets stay in the env. */
function writeConfig(dir: string): string {
  const path = join(dir, "worker.config.json");
  const handler = fileURLToPath(new URL("./fixtures/sleep-handler.mjs", import.meta.url));
  const config = {
    consumerGroup: CONSUMER_GROUP,
    containerName: CONTAINER,
    checkpointEvery: 1000,
    concurrency,
    ordering: "none",
    strategy: "greedy",
    updateIntervalMs: 1000,
    ownershipExpirationMs: 6000,
    logLevel: "warn",
    handlers: { main: { module: handler, options: { delayMs } } },
    pipelines: { default: ["main"] },
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

interface Sample {
  atS: number;
  rssBytes: number;
  processed: number;
}

type EhwCommand = (args: string[]) => { command: string; args: string[] };

async function drain(stack: BenchStack, configPath: string, ehw: EhwCommand) {
  const { command, args } = ehw(["run", "--config", configPath]);
  const cap = values["max-old-space-mb"];
  const nodeArgs = cap === undefined ? [] : [`--max-old-space-size=${whole("max-old-space-mb", 16)}`];
  const child = spawn(command, [...nodeArgs, ...args], {
    env: {
      ...process.env,
      EHW_EVENTHUB_CONNECTION_STRING: stack.eventHubsConnectionString,
      EHW_EVENTHUB_NAME: stack.hub,
      EHW_STORAGE_CONNECTION_STRING: stack.storageConnectionString,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stderr: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const pid = child.pid as number;
  note(`ehw run pid ${pid}`);
  const container = new ContainerClient(stack.storageConnectionString, CONTAINER);
  const samples: Sample[] = [];
  const started = performance.now();
  let processed = 0;
  let nextCheck = 0;
  let peak = 0;
  while (child.exitCode === null && processed < events && performance.now() - started < drainCapMs) {
    const rss = statusBytes(pid, "VmRSS") ?? 0;
    peak = Math.max(peak, rss);
    const atS = (performance.now() - started) / 1000;
    if (atS >= nextCheck) {
      processed = await checkpointed(container).catch(() => processed);
      samples.push({ atS, rssBytes: rss, processed });
      if (samples.length % 5 === 0)
        note(`t=${Math.round(atS)} s rss=${round(rss / MB, 1)} MB processed≈${processed}`);
      nextCheck = atS + 2;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const hwm = statusBytes(pid, "VmHWM");
  const cpuSeconds = processCpuSeconds(pid);
  const seconds = (performance.now() - started) / 1000;
  // Stopped by its PID; the worker drains and exits.
  if (child.exitCode === null) process.kill(pid, "SIGTERM");
  const code = await exited;
  if (samples.length === 0 || processed === 0) {
    throw new Error(`the worker processed nothing (exit ${code}): ${stderr.join("").slice(-2000)}`);
  }
  return { samples, peak, hwm, cpuSeconds, seconds, processed, code };
}

async function main(): Promise<void> {
  if (values.from !== "build" && values.from !== "source") throw new Error("--from must be build or source");
  const ehw: EhwCommand = values.from === "build" ? builtEhw() : (args) => ehwCommand(args);
  const dir = await mkdtemp(join(tmpdir(), "ehw-bench-memory-"));
  const stack = await startBenchStack({ partitionCount: PARTITIONS, consumerGroups: [CONSUMER_GROUP] });
  try {
    await stack.container(CONTAINER);
    note(`sending a backlog of ${events} events`);
    const backlog = await fillBacklog(stack, events, 100);
    note(`backlog sent in ${round(backlog.seconds, 1)} s (${Math.round(backlog.eventsPerSecond)} events/s)`);
    const run = await drain(stack, writeConfig(dir), ehw);
    report(run, backlog.seconds);
  } finally {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function report(run: Awaited<ReturnType<typeof drain>>, backlogSeconds: number): void {
  const every = Math.max(1, Math.floor(run.samples.length / 10));
  printTable(
    run.samples
      .filter((_, i) => i % every === 0 || i === run.samples.length - 1)
      .map((s) => ({
        "t (s)": round(s.atS, 1),
        "RSS MB": round(s.rssBytes / MB, 1),
        checkpointed: s.processed,
      })),
  );
  const peakBytes = Math.max(run.peak, run.hwm ?? 0);
  console.log("");
  console.log(
    `peak RSS ${round(peakBytes / MB, 1)} MB (target ≤ 250 MB) while ${run.processed} of ${events} events were checkpointed in ${round(run.seconds, 1)} s`,
  );
  printFigures("worker-memory", {
    events,
    partitions: PARTITIONS,
    delayMs,
    concurrency,
    ordering: "none",
    workerFrom: values.from,
    maxOldSpaceMb: values["max-old-space-mb"] === undefined ? null : whole("max-old-space-mb", 16),
    backlogSendSeconds: round(backlogSeconds, 1),
    drainSeconds: round(run.seconds, 1),
    checkpointedEvents: run.processed,
    drained: run.processed >= events,
    eventsPerSecond: Math.round(run.processed / run.seconds),
    peakRssMb: round(peakBytes / MB, 1),
    sampledPeakRssMb: round(run.peak / MB, 1),
    vmHwmMb: run.hwm === undefined ? undefined : round(run.hwm / MB, 1),
    workerCpuSeconds: run.cpuSeconds === undefined ? undefined : round(run.cpuSeconds, 1),
    workerExitCode: run.code,
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
    cpus: availableParallelism(),
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
