/**
 * eventhub-worker as a benchmark scenario: the real Worker in this process, built by the
 * composition root (src/app/worker-app.ts) from a config compiled like `ehw run`'s, with a handler
 * module from bench/fixtures whose `probe` reports every handled event to a Meter.
 */
import { fileURLToPath } from "node:url";
import { createWorker } from "../../src/app/worker-app.js";
import type { RawSetting, RawWorkerOptions, SettingKey } from "../../src/config/worker.js";
import { compileWorkerConfig } from "../../src/config/worker.js";
import { Meter, waitForCount } from "./meter.js";
import { note } from "./report.js";
import type { ConsumeOptions, ReceiveSettings, ScenarioResult } from "./sdk-scenarios.js";
import { resultOf, stackCpuWindow } from "./sdk-scenarios.js";
import type { BenchStack } from "./stack.js";

/** A handler fixture: its file and the probe it exports. */
export interface HandlerFixture {
  path: string;
  probe: { onEvents: (count: number) => void };
}

/** Loads a fixture from bench/fixtures by file name (the worker later imports the same URL). */
export async function handlerFixture(fileName: string): Promise<HandlerFixture> {
  const url = new URL(`../fixtures/${fileName}`, import.meta.url);
  const module = (await import(url.href)) as { probe: HandlerFixture["probe"] };
  return { path: fileURLToPath(url), probe: module.probe };
}

/** Settings of one worker run. */
export interface WorkerScenario {
  /** Label in the results. */
  name: string;
  consumerGroup: string;
  containerName: string;
  checkpointEvery: number;
  concurrency: number;
  ordering: "partition" | "key" | "none";
  handler: HandlerFixture;
  /** `options` of the handler instance; default none. */
  handlerOptions?: Record<string, unknown>;
}

function flag(name: string, value: unknown): RawSetting {
  return { value, source: { kind: "flag", name: `--${name}` } };
}

/** Raw options as `ehw run` would gather them from flags: `values` and one handler, the rest defaults. */
export function flagRawOptions(
  values: Partial<Record<SettingKey, unknown>>,
  handler: HandlerFixture,
  handlerOptions: Record<string, unknown> = {},
): RawWorkerOptions {
  const raw: RawWorkerOptions = {};
  for (const [key, value] of Object.entries(values) as Array<[SettingKey, unknown]>) {
    raw[key] = flag(key, value);
  }
  raw.handlerSections = {
    value: {
      handlers: { main: { module: handler.path, options: handlerOptions } },
      pipelines: { default: ["main"] },
    },
    source: { kind: "flag", name: "handlers" },
  };
  return raw;
}

/** The raw options `ehw run` would gather from flags for this scenario. */
export function workerRawOptions(
  stack: BenchStack,
  scenario: WorkerScenario,
  settings: ReceiveSettings,
): RawWorkerOptions {
  const values: Partial<Record<SettingKey, unknown>> = {
    eventHubConnectionString: stack.eventHubsConnectionString,
    eventHubName: stack.hub,
    consumerGroup: scenario.consumerGroup,
    storageConnectionString: stack.storageConnectionString,
    containerName: scenario.containerName,
    checkpointEvery: scenario.checkpointEvery,
    concurrency: scenario.concurrency,
    ordering: scenario.ordering,
    maxBatchSize: settings.maxBatchSize,
    prefetchCount: settings.prefetchCount,
    maxWaitTimeMs: 1000,
    strategy: "greedy",
    updateIntervalMs: settings.updateIntervalMs,
    ownershipExpirationMs: settings.updateIntervalMs * 6,
    logLevel: "warn",
  };
  return flagRawOptions(values, scenario.handler, scenario.handlerOptions);
}

/** Runs the Worker over the backlog until `options.target` events were handled or the cap passed. */
export async function runWorkerScenario(
  stack: BenchStack,
  scenario: WorkerScenario,
  settings: ReceiveSettings,
  options: ConsumeOptions,
): Promise<ScenarioResult> {
  await stack.container(scenario.containerName);
  const config = compileWorkerConfig(workerRawOptions(stack, scenario, settings), { baseDir: process.cwd() });
  const meter = new Meter();
  scenario.handler.probe.onEvents = (n) => meter.add(n);
  const worker = createWorker(config);
  const cpu = stackCpuWindow(stack);
  let result: ScenarioResult;
  try {
    await worker.start();
    await waitForCount(meter, options.target, {
      capMs: options.capMs,
      onTick: (count) => note(`${scenario.name}: ${count}/${options.target}`),
    });
    // Taken before stop, so that draining does not stretch the measured time.
    result = resultOf(scenario.name, meter, options.target, cpu.stop());
  } finally {
    scenario.handler.probe.onEvents = () => {};
    await worker.stop({ deadlineMs: 5000 });
  }
  return result;
}
