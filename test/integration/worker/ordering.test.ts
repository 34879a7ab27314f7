import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../helpers/wait-for.js";
import {
  ledgerWorkerEnv,
  RECORDER,
  readJsonLines,
  sendWithKeys,
  startWorker,
  useWorkerTests,
} from "./support.js";

const tests = useWorkerTests();
const { workers } = tests;

interface Record {
  p: string;
  s: number;
  k: string | null;
  id: string;
  attempt: number;
  phase: "start" | "end";
}

function records(file: string): Promise<Record[]> {
  return readJsonLines<Record>(file);
}

describe("ehw run, ordering key", () => {
  it("keeps each key in order under concurrency 32 while a slow key's handler runs", async () => {
    const { hubName, containerName, dir } = await tests.fresh(1);
    const file = join(dir, "order.jsonl");
    const configFile = join(dir, "worker.json");
    await writeFile(
      configFile,
      JSON.stringify({
        ordering: "key",
        concurrency: 32,
        handlers: {
          rec: { module: RECORDER, options: { file, slowKeys: ["slow-0", "slow-1"], slowMs: 40 } },
        },
        pipelines: { default: ["rec"] },
      }),
    );
    const env = ledgerWorkerEnv(hubName, containerName, "unused", { EHW_CONFIG: configFile });
    delete env.EHW_HANDLER;
    delete env.EHW_LEDGER_FILE;
    const keys = ["slow-0", "slow-1", "fast-0", "fast-1", "fast-2", "fast-3", "fast-4", "fast-5"];
    const rounds = 15;
    const events = Array.from({ length: rounds }, (_, n) =>
      keys.map((key) => ({ key, id: `${key}-${n}` })),
    ).flat();
    await sendWithKeys(hubName, events);
    const worker = await startWorker("worker-key", env);
    workers.push(worker);

    const total = keys.length * rounds;
    await waitFor(async () => (await records(file)).filter((r) => r.phase === "end").length === total, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: `${total} handled events`,
    });
    const lines = await records(file);
    for (const key of keys) {
      const mine = lines.filter((r) => r.k === key);
      // start, end, start, end…: never two events of one key at once, and in send order.
      expect(mine.map((r) => r.phase)).toEqual(Array.from({ length: rounds }, () => ["start", "end"]).flat());
      expect(mine.filter((r) => r.phase === "end").map((r) => r.id)).toEqual(
        Array.from({ length: rounds }, (_, n) => `${key}-${n}`),
      );
    }
    // Other keys went on while a slow key's handler was running.
    const slowStart = lines.findIndex((r) => r.k === "slow-0" && r.phase === "start");
    const slowEnd = lines.findIndex((r) => r.k === "slow-0" && r.phase === "end");
    expect(lines.slice(slowStart, slowEnd).some((r) => r.k?.startsWith("fast-") && r.phase === "end")).toBe(
      true,
    );
    const ends = lines.filter((r) => r.phase === "end").map((r) => r.s);
    expect(ends).not.toEqual([...ends].sort((a, b) => a - b));
  });
});
