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
  p: string;
  s: number;
  id: string;
  attempt: number;
  phase: "start" | "end";
}

function lines(file: string): Promise<Line[]> {
  return readJsonLines<Line>(file);
}

describe("ehw run, a failing handler", () => {
  it("retries an event maxAttempts times, then stops its partition without checkpointing past it while the others go on", async () => {
    const { hubName, containerName, containerClient, dir } = await tests.fresh(4);
    const file = join(dir, "calls.jsonl");
    const configFile = join(dir, "worker.json");
    await writeFile(
      configFile,
      JSON.stringify({
        handlers: { rec: { module: RECORDER, options: { file, failId: "1-5" } } },
        // `stop`, not the default `deadletter`: this test is about the partition that stops.
        pipelines: { default: { handlers: ["rec"], onFailure: "stop" } },
      }),
    );
    const env = ledgerWorkerEnv(hubName, containerName, "unused", {
      EHW_CONFIG: configFile,
      EHW_MAX_ATTEMPTS: "3",
      EHW_CHECKPOINT_EVERY: "1",
      EHW_STRATEGY: "greedy",
    });
    delete env.EHW_HANDLER;
    delete env.EHW_LEDGER_FILE;
    const worker = await startWorker("worker-fail", env);
    workers.push(worker);
    await waitFor(() => worker.held().size === 4, { timeoutMs: 30_000, what: "all four partitions claimed" });
    await sendToPartitions(hubName, ["0", "1", "2", "3"], 20);

    await waitFor(
      async () => {
        const checkpoints = await checkpointsOf(containerClient, hubName);
        return ["0", "2", "3"].every((p) => checkpoints.get(p)?.sequenceNumber === 19);
      },
      { timeoutMs: 30_000, intervalMs: 250, what: "partitions 0, 2, 3 checkpointed at 19" },
    );
    await waitFor(
      () => worker.logs.some((l) => l.msg?.toString().startsWith("partition stopped by a failed event")),
      {
        timeoutMs: 10_000,
        what: "the stopped-partition report",
      },
    );
    const calls = await lines(file);
    expect(calls.filter((c) => c.id === "1-5").map((c) => `${c.phase}${c.attempt}`)).toEqual([
      "start1",
      "start2",
      "start3",
    ]);
    const p1 = calls.filter((c) => c.p === "1");
    expect(Math.max(...p1.map((c) => c.s))).toBe(5);
    expect(p1.filter((c) => c.phase === "end").map((c) => c.s)).toEqual([0, 1, 2, 3, 4]);
    expect(
      worker.logs.find((l) => l.msg?.toString().startsWith("event failed after its last attempt")),
    ).toMatchObject({
      partitionId: "1",
      sequenceNumber: 5,
      pipeline: "default",
      attempts: 3,
    });
    await waitFor(
      async () => (await checkpointsOf(containerClient, hubName)).get("1")?.sequenceNumber === 4,
      {
        timeoutMs: 10_000,
        what: "partition 1 checkpointed just before the failed event",
      },
    );
    // The process keeps running: a stopped partition is reported, not fatal.
    expect(worker.child.running).toBe(true);

    const exit = await worker.child.stop({ timeoutMs: 30_000 });
    expect(exit.code).toBe(0);
    const after = await checkpointsOf(containerClient, hubName);
    expect(after.get("1")?.sequenceNumber).toBe(4);
    expect(["0", "2", "3"].map((p) => after.get(p)?.sequenceNumber)).toEqual([19, 19, 19]);
  });
});
