/**
 * A short crash drill end to end: 3 workers, 8 partitions, 20k keyed events, two kill -9, one
 * SIGTERM and one emulator restart, on its own persistent stack. Asserts the drill's verdict, then
 * checks the guarantees again straight from the ledger files and the workers' logs, with none of
 * the verdict's code: every id processed, duplicates per partition within the bound per claim,
 * and nothing the SIGTERMed worker processed processed again after it was told to stop.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileDrillOptions } from "../../src/drill/options.js";
import { type DrillOutcome, runDrill } from "../../src/drill/run-drill.js";
import { type LedgerEntry, readLedgerFile } from "../../src/handlers/builtins/ledger.js";
import { silentLogger } from "../../src/observability/logger.js";

const EVENTS = 20_000;
const CHECKPOINT_EVERY = 50;
const CONCURRENCY = 4;
const MAX_BATCH = 50;
/** 2 × checkpointEvery + concurrency × maxBatchSize (a unit of the ledger's batch pipeline). */
const BOUND = 2 * CHECKPOINT_EVERY + CONCURRENCY * MAX_BATCH;

interface LogLine {
  time: string;
  msg: string;
  partitionId?: string;
}

async function readLedgers(dir: string): Promise<Map<string, LedgerEntry[]>> {
  const ledgers = new Map<string, LedgerEntry[]>();
  for (const file of await readdir(dir)) {
    const match = /^ledger-(.+)\.jsonl$/.exec(file);
    if (match) ledgers.set(match[1] as string, await readLedgerFile(join(dir, file)));
  }
  return ledgers;
}

async function readWorkerLog(file: string): Promise<LogLine[]> {
  const text = await readFile(file, "utf8");
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine);
}

/** Partitions `workerId` held at `atMs` by its own log: claimed and not released or lost since. */
function heldAt(lines: readonly LogLine[], atMs: number): Set<string> {
  const held = new Set<string>();
  for (const line of lines) {
    if (Date.parse(line.time) > atMs || line.partitionId === undefined) continue;
    if (line.msg === "partition claimed") held.add(line.partitionId);
    // A worker whose ownership record names another owner no longer holds the partition, even if
    // it goes on processing; what it did there is not the graceful stop's to hand over.
    if (
      line.msg === "partition released" ||
      line.msg === "partition lost to another worker" ||
      line.msg === "ownership record names another owner"
    ) {
      held.delete(line.partitionId);
    }
  }
  return held;
}

describe("short crash drill", () => {
  let outcome: DrillOutcome | undefined;
  let out: string | undefined;

  afterAll(async () => {
    // Keep the report of a failed run for a look; remove a passing one.
    if (out !== undefined && outcome?.report.verdict.passed) await rm(out, { recursive: true, force: true });
  });

  it("keeps every guarantee through two kills, a SIGTERM and an emulator restart", async () => {
    out = await mkdtemp(join(tmpdir(), "ehw-short-drill-"));
    const options = compileDrillOptions({
      seed: "20261121",
      workers: "3",
      partitions: "8",
      events: String(EVENTS),
      keys: "64",
      kill: "2",
      term: "1",
      restartHub: true,
      firstFaultMs: "3000",
      faultSpacingMs: "7000",
      catchUpTimeoutMs: "60000",
      out,
      workerFlags: {
        "--update-interval-ms": "1000",
        "--ownership-expiration-ms": "4000",
        "--ordering": "key",
        "--concurrency": String(CONCURRENCY),
        "--checkpoint-every": String(CHECKPOINT_EVERY),
        "--max-batch-size": String(MAX_BATCH),
      },
    });
    outcome = await runDrill(options, { logger: silentLogger() });
    const { report } = outcome;

    // The drill's own verdict; soft, so that the checks from the files below run and report too.
    expect.soft(report.verdict.failures.map((f) => `${f.name}: ${f.summary}`)).toEqual([]);
    expect(report.verdict.sent).toBe(EVENTS);
    expect(report.verdict.duplicates.bound.perHandover).toBe(BOUND);
    expect(report.faults.map((f) => f.kind).sort()).toEqual(["kill", "kill", "restart-hub", "term"]);
    for (const fault of report.faults.filter((f) => f.kind === "kill"))
      expect(fault.victimExit).toBe("signal SIGKILL");
    expect(report.faults.find((f) => f.kind === "term")?.victimExit).toBe("code 0");

    // Again, from the files.
    const ledgers = await readLedgers(outcome.ledgerDir);
    const all = [...ledgers.values()].flat();
    const ids = new Set(all.map((e) => e.id));
    const lost = Array.from({ length: EVENTS }, (_, id) => id).filter((id) => !ids.has(id));
    expect.soft(lost.slice(0, 10), "lost ids").toEqual([]);

    const logs = new Map<string, LogLine[]>();
    for (const workerId of ledgers.keys())
      logs.set(workerId, await readWorkerLog(join(out, "workers", `${workerId}.log`)));
    const claims = new Map<string, number>();
    for (const lines of logs.values()) {
      for (const line of lines) {
        if (line.msg === "partition claimed" && line.partitionId !== undefined) {
          claims.set(line.partitionId, (claims.get(line.partitionId) ?? 0) + 1);
        }
      }
    }
    const perPartition = new Map<string, { entries: number; distinct: Set<number> }>();
    for (const e of all) {
      const p = perPartition.get(e.p) ?? { entries: 0, distinct: new Set<number>() };
      p.entries += 1;
      p.distinct.add(e.s);
      perPartition.set(e.p, p);
    }
    for (const [p, { entries, distinct }] of perPartition) {
      // Each claim may restart from the checkpoint, and so may the reconnect after the hub restart.
      const allowed = BOUND * ((claims.get(p) ?? 0) + 1);
      expect.soft(entries - distinct.size, `duplicates on partition ${p}`).toBeLessThanOrEqual(allowed);
    }

    const term = report.faults.find((f) => f.kind === "term");
    const victim = term?.victim as string;
    const held = heldAt(logs.get(victim) ?? [], term?.atMs as number);
    const processedByVictim = new Set(
      (ledgers.get(victim) ?? []).filter((e) => held.has(e.p)).map((e) => `${e.p}/${e.s}`),
    );
    const again = all.filter(
      (e) => e.w !== victim && e.t > (term?.atMs as number) && processedByVictim.has(`${e.p}/${e.s}`),
    );
    expect(held.size).toBeGreaterThan(0);
    expect.soft(again.slice(0, 5), "events of the SIGTERMed worker processed again").toEqual([]);
  }, 300_000);
});
