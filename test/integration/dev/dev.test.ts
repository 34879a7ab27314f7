/**
 * `ehw dev` as a child process without a terminal: it prints how to connect, plain summaries in
 * which processed events rise and partitions get owned, exits 0 on SIGTERM or after
 * --duration-ms, and leaves none of the processes it started behind.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { processExists } from "../../helpers/processes.js";
import { waitFor } from "../../helpers/wait-for.js";
import { type DevRun, output, reportedPids, startDev, stopDevRuns } from "./support.js";

const servers: Server[] = [];

afterEach(async () => {
  await stopDevRuns();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

interface Summary {
  processed: number;
  owned: number;
  partitions: number;
}

function summaries(run: DevRun): Summary[] {
  const result: Summary[] = [];
  for (const line of run.stdout) {
    const m = /^\[\d+:\d\d\] .*processed (\d+) .*partitions owned (\d+)\/(\d+)/.exec(line);
    if (m) result.push({ processed: Number(m[1]), owned: Number(m[2]), partitions: Number(m[3]) });
  }
  return result;
}

describe("ehw dev without a terminal", () => {
  it("runs two workers that share the partitions, and stops everything on SIGTERM", async () => {
    const run = await startDev([
      "--workers",
      "2",
      "--partitions",
      "4",
      "--rate",
      "100",
      "--summary-interval-ms",
      "2000",
    ]);
    await waitFor(() => run.stdout.some((l) => l.startsWith("pids: ")), {
      timeoutMs: 60_000,
      what: "the pids line",
    });
    const text = run.stdout.join("\n");
    expect(text).toMatch(
      /export EHW_EVENTHUB_CONNECTION_STRING='Endpoint=sb:\/\/127\.0\.0\.1:\d+;[^']*UseDevelopmentEmulator=true'/,
    );
    expect(text).toMatch(
      /export EHW_STORAGE_CONNECTION_STRING='DefaultEndpointsProtocol=http;[^']*BlobEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;'/,
    );
    expect(text).toContain("export EHW_EVENTHUB_NAME='orders'");
    expect([...reportedPids(run).keys()]).toEqual(["azurite", "emulator", "worker-1", "worker-2"]);

    // Processed events rise across summaries while every partition has a live owner, and both
    // workers hold partitions.
    // Holding partitions is not enough: one handed over just before SIGTERM may have no event
    // processed yet, so wait for a line in each worker's ledger too.
    const sharing = (worker: string) =>
      run.stdout.some((l) => new RegExp(`^ {2}${worker} +pid \\d+ +running +partitions \\d`).test(l));
    const ledgerOf = (worker: string) =>
      readFile(join(run.dataDir, "ledger", `${worker}.jsonl`), "utf8").catch(() => "");
    await waitFor(
      async () => {
        const s = summaries(run);
        const firstProcessing = s.findIndex((x) => x.processed > 0);
        const rising = s
          .slice(firstProcessing + 1)
          .some((x) => x.processed > (s[firstProcessing]?.processed ?? 0) && x.owned === 4);
        if (firstProcessing < 0 || !rising || !sharing("worker-1") || !sharing("worker-2")) return false;
        return (await ledgerOf("worker-1")).length > 0 && (await ledgerOf("worker-2")).length > 0;
      },
      { timeoutMs: 120_000, intervalMs: 200, what: "rising processed counts, 4/4 owned, both workers busy" },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${output(run)}`);
    });
    expect(summaries(run).every((s) => s.partitions === 4)).toBe(true);

    const pids = reportedPids(run);
    for (const pid of pids.values()) expect(processExists(pid)).toBe(true);
    run.child.signal("SIGTERM");
    const exit = await run.child.exited;
    expect(exit, output(run)).toEqual({ code: 0, signal: null });
    for (const [name, pid] of pids) expect(processExists(pid), `${name} (${pid}) still runs`).toBe(false);
    expect(run.stdout.at(-1)).toMatch(/^ehw dev: stopped everything it started; data kept in \//);
    // Each worker's output went to its log file, not to ours, and its ledger to its own file.
    expect(run.stdout.some((l) => l.includes('"msg"'))).toBe(false);
    for (const worker of ["worker-1", "worker-2"]) {
      expect(await readFile(join(run.dataDir, "logs", `${worker}.log`), "utf8")).toContain('"msg"');
      expect(await readFile(join(run.dataDir, "ledger", `${worker}.jsonl`), "utf8")).toMatch(/^\{"p":"\d"/);
    }
  });

  it("quits by itself after --duration-ms", async () => {
    const run = await startDev([
      "--workers",
      "0",
      "--rate",
      "0",
      "--partitions",
      "2",
      "--duration-ms",
      "1500",
    ]);
    const exit = await run.child.exited;
    expect(exit, output(run)).toEqual({ code: 0, signal: null });
    const pids = reportedPids(run);
    expect([...pids.keys()]).toEqual(["azurite", "emulator"]);
    for (const pid of pids.values()) expect(processExists(pid)).toBe(false);
  });

  it("fails with a clear message and exit code 1 when its port is taken", async () => {
    const server = createServer();
    servers.push(server);
    const port = await new Promise<number>((resolve) => {
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
    });
    const run = await startDev(["--workers", "0", "--rate", "0", "--storage-port", String(port)]);
    const exit = await run.child.exited;
    expect(exit.code, output(run)).toBe(1);
    expect(run.stderr.join("\n")).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(run.stderr.join("\n")).toContain("everything started was stopped");
    expect(reportedPids(run).size).toBe(0);
  });

  it("rejects a bad flag with exit code 2", async () => {
    const run = await startDev(["--workers", "lots"]);
    const exit = await run.child.exited;
    expect(exit.code).toBe(2);
    expect(run.stderr.join("\n")).toContain("--workers must be a whole number");
  });
});
