/**
 * `ehw run` against faults outside any handler call: an unhandled rejection is logged as JSON and
 * the worker goes on; an uncaught exception is logged, then the worker drains, writes its final
 * checkpoints, gives up its ownerships and exits 70. Without the process listeners Node prints a
 * raw stack and exits at once, leaving the ownership until it expires.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { processExists } from "../../helpers/processes.js";
import { waitFor } from "../../helpers/wait-for.js";
import {
  checkpointsOf,
  ledgerWorkerEnv,
  ownersOf,
  sendToPartitions,
  startWorker,
  useWorkerTests,
} from "./support.js";

const LEAKY = fileURLToPath(new URL("../../fixtures/worker/leaky.mjs", import.meta.url));
const tests = useWorkerTests();

async function leakyWorker(options: Record<string, string>) {
  const { hubName, containerName, containerClient, dir } = await tests.fresh(1);
  const configFile = join(dir, "worker.json");
  await writeFile(
    configFile,
    JSON.stringify({ handlers: { leaky: { module: LEAKY, options } }, pipelines: { default: ["leaky"] } }),
  );
  const env = ledgerWorkerEnv(hubName, containerName, "unused", {
    EHW_CONFIG: configFile,
    EHW_CHECKPOINT_EVERY: "1",
    EHW_STRATEGY: "greedy",
  });
  delete env.EHW_HANDLER;
  delete env.EHW_LEDGER_FILE;
  const worker = await startWorker("worker-leaky", env);
  tests.workers.push(worker);
  await waitFor(() => worker.held().size === 1, { timeoutMs: 30_000, what: "partition 0 claimed" });
  return { worker, hubName, containerClient };
}

describe("ehw run, faults outside a handler call", () => {
  it("logs an unhandled rejection as JSON and keeps processing", async () => {
    const { worker, hubName, containerClient } = await leakyWorker({ leakId: "0-3" });
    await sendToPartitions(hubName, ["0"], 10);
    await waitFor(
      async () => (await checkpointsOf(containerClient, hubName)).get("0")?.sequenceNumber === 9,
      {
        timeoutMs: 30_000,
        what: "partition 0 checkpointed at 9",
      },
    );
    const line = worker.logs.find((l) => String(l.msg).startsWith("unhandled promise rejection"));
    expect(line?.level).toBe(50);
    expect(JSON.stringify(line?.err)).toContain("leaked rejection for 0-3");
    expect(processExists(worker.child.pid)).toBe(true);
  });

  it("drains, checkpoints, releases its ownership and exits 70 after an uncaught exception", async () => {
    const { worker, hubName, containerClient } = await leakyWorker({ throwId: "0-4" });
    await sendToPartitions(hubName, ["0"], 5);
    const exit = await worker.child.exited;
    expect(exit.code).toBe(70);
    const fatal = worker.logs.find((l) => String(l.msg).startsWith("uncaught exception"));
    expect(JSON.stringify(fatal?.err)).toContain("thrown from a timer for 0-4");
    expect((await checkpointsOf(containerClient, hubName)).get("0")?.sequenceNumber).toBe(4);
    // Released, not left to expire: the ownership blob names no owner any more.
    expect((await ownersOf(containerClient, hubName)).get("0") ?? "").toBe("");
  });
});
