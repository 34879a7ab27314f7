/**
 * Metrics and health endpoints of a real worker (the SDK against the emulator, checkpoints in
 * Azurite): in process through startWorkerObservability, and as an `ehw run` child.
 */
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createWorker } from "../../../src/app/worker-app.js";
import { spawnChild } from "../../../src/local/child.js";
import { ehwCommand } from "../../../src/local/cli-command.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { startWorkerObservability, type WorkerObservability } from "../../../src/ops/worker-observability.js";
import { freshContainer, freshHub, testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { sampleSum, sampleValue } from "../../unit/ops/exposition.js";
import {
  FAST_TIMING,
  sendToPartitions,
  stackWorkerConfig,
  startWorker,
  workerEnv,
} from "../worker/support.js";

const NOOP_HANDLER = fileURLToPath(new URL("../../fixtures/handlers/event-only.mjs", import.meta.url));
const PARTITIONS = ["0", "1", "2", "3"];
const PER_PARTITION = 50;
const TOTAL = PARTITIONS.length * PER_PARTITION;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

describe("worker metrics and health (in process)", () => {
  it("moves counters, drains lag to zero, counts checkpoints and ownership, and reports readiness", async () => {
    const { hubName } = await freshHub(PARTITIONS.length);
    const { containerName } = await freshContainer();
    const config = stackWorkerConfig(hubName, containerName, {
      handler: NOOP_HANDLER,
      retryDelayMs: "200",
      checkpointEvery: "10",
      checkpointIntervalMs: "500",
      metricsPort: "0",
    });
    const observability: WorkerObservability = await startWorkerObservability({
      config: config.observability,
      logger: silentLogger(),
    });
    cleanups.push(() => observability.close());
    const base = observability.server?.url;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const worker = createWorker(config, { logger: silentLogger(), observer: observability.metrics });
    cleanups.push(() => worker.stop({ deadlineMs: 2000 }));
    observability.attach(worker);

    const before = await get(`${base}/readyz`);
    expect(before.status).toBe(503);
    expect(JSON.parse(before.text)).toEqual({ status: "not ready", reasons: ["worker is starting"] });
    expect((await get(`${base}/healthz`)).status).toBe(200);

    // The backlog is there before the worker starts, so lag is visible before it drains.
    await sendToPartitions(hubName, PARTITIONS, PER_PARTITION);
    await worker.start();
    await waitFor(async () => (await get(`${base}/readyz`)).status === 200, { what: "/readyz 200" });

    const scrape = async (): Promise<string> => {
      const res = await get(`${base}/metrics`);
      expect(res.status).toBe(200);
      return res.text;
    };
    const seen: number[] = [];
    const done = await waitFor(
      async () => {
        const text = await scrape();
        seen.push(sampleSum(text, "ehw_events_processed_total"));
        const lags = PARTITIONS.map((p) => sampleValue(text, "ehw_partition_lag_events", { partition: p }));
        const caughtUp = lags.every((lag) => lag === 0);
        return sampleSum(text, "ehw_events_processed_total") === TOTAL && caughtUp ? text : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `${TOTAL} processed events and zero lag` },
    );
    for (const p of PARTITIONS) {
      expect(sampleValue(done, "ehw_events_received_total", { partition: p })).toBe(PER_PARTITION);
      expect(sampleValue(done, "ehw_events_processed_total", { partition: p, pipeline: "default" })).toBe(
        PER_PARTITION,
      );
      expect(sampleValue(done, "ehw_events_in_flight", { partition: p })).toBe(0);
    }
    expect(sampleSum(done, "ehw_events_failed_total")).toBe(0);
    expect(sampleValue(done, "ehw_owned_partitions")).toBe(PARTITIONS.length);
    expect(sampleValue(done, "ehw_ownership_changes_total", { reason: "claimed" })).toBe(PARTITIONS.length);
    expect(sampleValue(done, "ehw_handler_duration_seconds_count", { pipeline: "default" })).toBe(TOTAL);
    expect(sampleValue(done, "process_resident_memory_bytes")).toBeGreaterThan(0);
    // Counters only move forwards between scrapes.
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);

    // Checkpoints are written every 10 completions or 500 ms; all of them land eventually.
    const written = await waitFor(
      async () => {
        const text = await scrape();
        const ok = PARTITIONS.map((p) =>
          sampleValue(text, "ehw_checkpoint_writes_total", { partition: p, outcome: "ok" }),
        );
        return ok.every((n) => (n ?? 0) >= 1) ? text : undefined;
      },
      { timeoutMs: 15_000, what: "a checkpoint write counted on every partition" },
    );
    expect(sampleSum(written, "ehw_checkpoint_write_failures_total")).toBe(0);
    expect(sampleValue(written, "ehw_checkpoint_write_duration_seconds_count")).toBeGreaterThanOrEqual(4);

    expect((await worker.stop()).drained).toBe(true);
    const after = await get(`${base}/readyz`);
    expect(after.status).toBe(503);
    expect(JSON.parse(after.text).reasons).toEqual(["worker is stopped"]);
    const final = await scrape();
    expect(sampleValue(final, "ehw_owned_partitions")).toBe(0);
    expect(sampleValue(final, "ehw_ownership_changes_total", { reason: "Shutdown" })).toBe(PARTITIONS.length);
    expect((await get(`${base}/healthz`)).status).toBe(200);
  });
});

describe("ehw run metrics and health", () => {
  it("serves the endpoints on the logged address and logs status lines", async () => {
    const { hubName } = await freshHub(2);
    const { containerName } = await freshContainer();
    const { emulator, azurite } = testStack();
    await sendToPartitions(hubName, ["0", "1"], 20);
    const worker = await startWorker(
      "ehw-run-metrics",
      workerEnv({
        EHW_EVENTHUB_CONNECTION_STRING: emulator.connectionString,
        EHW_EVENTHUB_NAME: hubName,
        EHW_STORAGE_CONNECTION_STRING: azurite.connectionString,
        EHW_CONTAINER_NAME: containerName,
        EHW_HANDLER: NOOP_HANDLER,
        EHW_STRATEGY: "greedy",
        EHW_METRICS_PORT: "0",
        EHW_STATUS_INTERVAL_MS: "200",
        ...FAST_TIMING,
      }),
    );
    cleanups.push(() => worker.child.stop({ timeoutMs: 10_000 }));
    const listening = worker.logs.find((l) => l.msg === "metrics and health endpoints listening");
    expect(listening?.host).toBe("127.0.0.1");
    const base = String(listening?.url);
    expect(base).toBe(`http://127.0.0.1:${listening?.port}`);

    await waitFor(async () => (await get(`${base}/readyz`)).status === 200, { what: "/readyz 200" });
    expect((await get(`${base}/healthz`)).status).toBe(200);
    expect((await get(`${base}/nope`)).status).toBe(404);
    await waitFor(
      async () => sampleSum((await get(`${base}/metrics`)).text, "ehw_events_processed_total") === 40,
      { timeoutMs: 30_000, what: "40 processed events in /metrics" },
    );
    const status = await waitFor(
      () =>
        worker.logs.find(
          (l) =>
            l.msg === "worker status" &&
            Array.isArray(l.partitions) &&
            (l.partitions as Array<{ processed: number }>).reduce((n, p) => n + p.processed, 0) === 40,
        ),
      { timeoutMs: 10_000, what: "a status line with 40 processed events" },
    );
    expect(status.level).toBe(30);
    expect(status.state).toBe("running");
    expect(Object.keys((status.partitions as object[])[0] ?? {}).sort()).toEqual(
      [
        "failed",
        "inFlight",
        "lastCheckpoint",
        "oldestIncompleteEnqueuedTimeMs",
        "partitionId",
        "processed",
        "queued",
        "state",
      ].sort(),
    );

    worker.child.signal("SIGTERM");
    const exit = await worker.child.exited;
    expect(exit.code).toBe(0);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it("exits 1 naming the address when an explicitly set metrics port is taken", async () => {
    const { hubName } = await freshHub(1);
    const { containerName } = await freshContainer();
    const { emulator, azurite } = testStack();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const { port } = blocker.address() as { port: number };
    const { command, args } = ehwCommand(["run", "--metrics-port", String(port)]);
    const child = await spawnChild({
      name: "ehw-run-taken-port",
      command,
      args,
      env: workerEnv({
        EHW_EVENTHUB_CONNECTION_STRING: emulator.connectionString,
        EHW_EVENTHUB_NAME: hubName,
        EHW_STORAGE_CONNECTION_STRING: azurite.connectionString,
        EHW_CONTAINER_NAME: containerName,
        EHW_HANDLER: NOOP_HANDLER,
      }),
    });
    cleanups.push(() => child.stop({ timeoutMs: 1000 }));
    const exit = await child.exited;
    expect(exit.code).toBe(1);
    const stderr = child
      .outputTail()
      .filter((l) => l.stream === "stderr")
      .map((l) => l.text)
      .join("\n");
    expect(stderr).toContain(`127.0.0.1:${port}`);
    expect(stderr).toContain("EADDRINUSE");
  });
});
