/**
 * `ehw dev` as a child process for the dev stack's tests: each run gets a data directory of its
 * own, and {@link stopDevRuns} (the tests' teardown) stops every run, kills by PID whatever a run
 * that had to be killed left behind, and removes the directories.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ManagedChild, spawnChild } from "../../../src/local/child.js";
import { ehwCommand } from "../../../src/local/cli-command.js";
import { processExists } from "../../helpers/processes.js";

/** A running `ehw dev` and the lines it printed so far. */
export interface DevRun {
  dataDir: string;
  child: ManagedChild;
  stdout: string[];
  stderr: string[];
}

const runs: DevRun[] = [];

/** Starts `ehw dev --data <a new directory> ...args`, with `env` (default: this process's). */
export async function startDev(args: string[], env?: NodeJS.ProcessEnv): Promise<DevRun> {
  const dataDir = await mkdtemp(join(tmpdir(), "ehw-dev-test-"));
  const run: DevRun = { dataDir, child: undefined as unknown as ManagedChild, stdout: [], stderr: [] };
  const { command, args: full } = ehwCommand(["dev", "--data", dataDir, ...args]);
  try {
    run.child = await spawnChild({
      name: "ehw-dev",
      command,
      args: full,
      env,
      onLine: (line) => (line.stream === "stdout" ? run.stdout : run.stderr).push(line.text),
    });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  runs.push(run);
  return run;
}

/** Every PID the run reported on its `pids:` lines. */
export function reportedPids(run: DevRun): Map<string, number> {
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

/** The run's output, stderr lines marked, for a failure message. */
export function output(run: DevRun): string {
  return [...run.stdout, ...run.stderr.map((l) => `[stderr] ${l}`)].join("\n");
}

/** Teardown: stops every run started since the last call and removes its data directory. */
export async function stopDevRuns(): Promise<void> {
  for (const run of runs.splice(0)) {
    await run.child.stop({ timeoutMs: 40_000 });
    // If the test failed and the dev process had to be killed, its children are ours to clean up.
    for (const pid of reportedPids(run).values()) {
      if (processExists(pid)) process.kill(pid, "SIGKILL");
    }
    await rm(run.dataDir, { recursive: true, force: true });
  }
}
