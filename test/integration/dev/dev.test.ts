/**
 * `ehw dev` as a child process without a terminal: it prints how to connect, plain summaries in
 * which processed events rise and partitions get owned, exits 0 on SIGTERM or after
 * --duration-ms, and leaves none of the processes it started behind.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ManagedChild, spawnChild } from "../../../src/local/child.js";
import { ehwCommand } from "../../../src/local/cli-command.js";
import { processExists } from "../../helpers/processes.js";
import { waitFor } from "../../helpers/wait-for.js";

interface DevRun {
  dataDir: string;
  child: ManagedChild;
  stdout: string[];
  stderr: string[];
}

const runs: DevRun[] = [];
const servers: Server[] = [];
const dataDirs: string[] = [];

/** Every PID the run reported on its `pids:` lines. */
function reportedPids(run: DevRun): Map<string, number> {
  const pids = new Map<string, number>();
  for (const line of run.stdout) {
    if (!line.startsWith("pids: ")) continue;
    for (const pair of line.slice(6).split(" ")) {
      const [name, pid] = pair.split("=");
      if (name !== undefined && pid !== undefined) pids.set(name, Number(pid));
    }
  }
  return pids;
}

afterEach(async () => {
  for (const run of runs.splice(0)) {
    await run.child.stop({ timeoutMs: 40_000 });
    // If the test failed and the dev process had to be killed, its children are ours to clean up.
    for (const pid of reportedPids(run).values()) {
      if (processExists(pid)) process.kill(pid, "SIGKILL");
    }
  }
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  for (const dir of dataDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Starts `ehw dev ...args` with a data directory of its own that the test removes. */
async function startDev(args: string[]): Promise<DevRun> {
  const dataDir = await mkdtemp(join(tmpdir(), "ehw-dev-test-"));
  dataDirs.push(dataDir);
  const { command, args: full } = ehwCommand(["dev", "--data", dataDir, ...args]);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const child = await spawnChild({
    name: "ehw-dev",
    command,
    args: full,
    onLine: (line) => (line.stream === "stdout" ? stdout : stderr).push(line.text),
  });
  const run = { dataDir, child, stdout, stderr };
  runs.push(run);
  return run;
}

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

function output(run: DevRun): string {
  return [...run.stdout, ...run.stderr.map((l) => `[stderr] ${l}`)].join("\n");
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
