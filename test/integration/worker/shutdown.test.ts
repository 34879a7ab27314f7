import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../helpers/wait-for.js";
import {
  checkpointsOf,
  ledgerWorkerEnv,
  RECORDER,
  readJsonLines,
  sendToPartitions,
  startWorker,
  useWorkerTests,
} from "./support.js";

const tests = useWorkerTests();
const { workers } = tests;

interface Line {
  s: number;
  id: string;
  w?: string;
  phase: "start" | "end";
}

function lines(file: string): Promise<Line[]> {
  return readJsonLines<Line>(file);
}

/** A one-partition hub with 30 events and a worker whose handler sleeps `slowMs` per event. */
async function slowSetup(slowMs: number, overrides: Record<string, string>) {
  const { hubName, containerName, containerClient, dir } = await tests.fresh(1);
  const file = join(dir, "calls.jsonl");
  const configFile = join(dir, "worker.json");
  await writeFile(
    configFile,
    JSON.stringify({
      handlers: { rec: { module: RECORDER, options: { file, slowAll: true, slowMs } } },
      pipelines: { default: ["rec"] },
    }),
  );
  const env = ledgerWorkerEnv(hubName, containerName, "unused", {
    EHW_CONFIG: configFile,
    EHW_ORDERING: "none",
    EHW_CONCURRENCY: "4",
    // Only the final checkpoint counts here.
    EHW_CHECKPOINT_EVERY: "1000",
    EHW_CHECKPOINT_INTERVAL_MS: "60000",
    ...overrides,
  });
  delete env.EHW_HANDLER;
  delete env.EHW_LEDGER_FILE;
  await sendToPartitions(hubName, ["0"], 30);
  return { hubName, containerClient, file, env };
}

describe("ehw run shutdown", () => {
  it("on SIGTERM drains the accepted events, checkpoints the last one, exits 0, and a successor repeats nothing", async () => {
    const { hubName, containerClient, file, env } = await slowSetup(150, { EHW_DRAIN_TIMEOUT_MS: "20000" });
    const first = await startWorker("worker-drain", env);
    workers.push(first);
    await waitFor(async () => (await lines(file)).length >= 4, {
      timeoutMs: 30_000,
      what: "handlers running",
    });
    const exit = await first.child.stop({ timeoutMs: 30_000 });
    expect(exit.code).toBe(0);
    const handled = await lines(file);
    const started = handled.filter((l) => l.phase === "start").map((l) => l.s);
    const ended = handled.filter((l) => l.phase === "end").map((l) => l.s);
    expect(new Set(ended)).toEqual(new Set(started));
    const checkpoint = (await checkpointsOf(containerClient, hubName)).get("0");
    expect(checkpoint?.sequenceNumber).toBe(Math.max(...ended));

    const second = await startWorker("worker-after", env);
    workers.push(second);
    await waitFor(async () => (await lines(file)).filter((l) => l.phase === "end").length >= 30, {
      timeoutMs: 30_000,
      what: "all 30 events handled",
    });
    const ids = (await lines(file)).filter((l) => l.phase === "end").map((l) => l.id);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
  });

  it("exits 1 when the drain deadline passes and checkpoints nothing past unfinished events", async () => {
    const { hubName, containerClient, file, env } = await slowSetup(5000, { EHW_DRAIN_TIMEOUT_MS: "500" });
    const worker = await startWorker("worker-deadline", env);
    workers.push(worker);
    await waitFor(async () => (await lines(file)).length >= 4, {
      timeoutMs: 30_000,
      what: "handlers running",
    });
    const exit = await worker.child.stop({ timeoutMs: 20_000 });
    expect(exit.code).toBe(1);
    expect((await lines(file)).filter((l) => l.phase === "end")).toEqual([]);
    expect((await checkpointsOf(containerClient, hubName)).get("0")).toBeUndefined();
  });

  it("exits 143 at once on a second SIGTERM", async () => {
    const { file, env } = await slowSetup(5000, { EHW_DRAIN_TIMEOUT_MS: "60000" });
    const worker = await startWorker("worker-twice", env);
    workers.push(worker);
    await waitFor(async () => (await lines(file)).length >= 4, {
      timeoutMs: 30_000,
      what: "handlers running",
    });
    worker.child.signal("SIGTERM");
    await waitFor(() => worker.logs.some((l) => l.msg === "draining"), { what: "the drain to begin" });
    worker.child.signal("SIGTERM");
    const exit = await worker.child.stop({ timeoutMs: 5000 });
    expect(exit.code).toBe(143);
  });
});
