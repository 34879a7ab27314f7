/**
 * `ehw dev --tracing` as a child process without a terminal: its real worker children export their
 * spans over OTLP/HTTP to the stack's loopback receiver, and the plain summaries show non-zero
 * spans per second, the slowest pipeline, the error spans of failed attempts, and attempt spans
 * linked to the dev producer's batch spans (whole traces); SIGTERM stops every process it started.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { processExists } from "../../helpers/processes.js";
import { waitFor } from "../../helpers/wait-for.js";
import { type DevRun, output, reportedPids, startDev, stopDevRuns } from "./support.js";

const FAILS_SOME = fileURLToPath(
  new URL("../../fixtures/handlers/fails-first-attempts.mjs", import.meta.url),
);

afterEach(stopDevRuns);

/** This environment without OTEL_* variables, so that the stack's own receiver takes the spans. */
function envWithoutOtel(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("OTEL_")));
}

interface TracesFigures {
  spansPerSecond: number;
  received: number;
  line: string;
}

function tracesFigures(run: DevRun): TracesFigures[] {
  return run.stdout.flatMap((line) => {
    const m = /^ {2}traces ([\d.]+) spans\/s \((\d+) received\)/.exec(line);
    return m === null ? [] : [{ spansPerSecond: Number(m[1]), received: Number(m[2]), line }];
  });
}

describe("ehw dev --tracing", () => {
  it("summarises the spans its workers export: spans per second, slowest pipeline, error spans", async () => {
    const run = await startDev(
      [
        "--tracing",
        "--workers",
        "2",
        "--partitions",
        "2",
        "--rate",
        "40",
        "--handler",
        FAILS_SOME,
        "--summary-interval-ms",
        "1000",
      ],
      envWithoutOtel(),
    );

    const banner = await waitFor(
      () =>
        run.stdout
          .map((l) => /^Workers export traces to (\S+) \(this stack's receiver/.exec(l)?.[1])
          .find(Boolean),
      { timeoutMs: 30_000, what: "the traces line of the banner" },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${output(run)}`);
    });
    expect(banner).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/traces$/);

    const busy = await waitFor(
      () =>
        tracesFigures(run).find(
          (f) =>
            f.spansPerSecond > 0 &&
            /linked to producer [1-9]\d*%/.test(f.line) &&
            /error spans [1-9]\d* \(last \d+ s ago: /.test(f.line),
        ),
      { timeoutMs: 80_000, intervalMs: 200, what: "spans per second > 0, linked attempts and an error span" },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${output(run)}`);
    });
    expect(busy.line).toMatch(/slowest pipeline default process p95 [\d.]+ m?s, max [\d.]+ m?s/);
    expect(busy.line).toContain("every fifth event fails once");

    // Each worker was told to export to this receiver, with the dev stack's short delay.
    for (const worker of ["worker-1", "worker-2"]) {
      const log = await readFile(join(run.dataDir, "logs", `${worker}.log`), "utf8");
      expect(log).toContain(`"tracesUrl":"${banner}"`);
      expect(log).toContain('"exportDelayMs":500');
    }

    const pids = reportedPids(run);
    expect([...pids.keys()]).toEqual(["azurite", "emulator", "worker-1", "worker-2"]);
    run.child.signal("SIGTERM");
    expect(await run.child.exited, output(run)).toEqual({ code: 0, signal: null });
    for (const [name, pid] of pids) expect(processExists(pid), `${name} (${pid}) still runs`).toBe(false);
  });
});
