import { createServer, type Server } from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { EhwError } from "../../../src/common/errors.js";
import type { ObservabilityConfig } from "../../../src/config/observability.js";
import {
  type ObservedWorker,
  startWorkerObservability,
  type WorkerObservability,
} from "../../../src/ops/worker-observability.js";
import type { WorkerState } from "../../../src/worker/lifecycle.js";

const open: WorkerObservability[] = [];
const blockers: Server[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
  await Promise.all(blockers.splice(0).map((b) => new Promise((resolve) => b.close(resolve))));
});

function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "info" }, sink), lines };
}

async function takenPort(): Promise<number> {
  const blocker = createServer();
  blockers.push(blocker);
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  return (blocker.address() as { port: number }).port;
}

function config(overrides: Partial<ObservabilityConfig>): ObservabilityConfig {
  return {
    metricsPort: 0,
    metricsPortIsDefault: false,
    metricsHost: "127.0.0.1",
    statusIntervalMs: 0,
    ...overrides,
  };
}

function fakeWorker(state: WorkerState): ObservedWorker {
  return {
    status: () => ({
      state,
      workerId: "w",
      eventHubName: "h",
      consumerGroup: "$Default",
      partitions: [],
      stoppedPartitions: [],
    }),
    probeEventHub: async () => undefined,
    probeCheckpointStore: async () => undefined,
  };
}

describe("startWorkerObservability", () => {
  it("creates no metrics and no server when the port is off", async () => {
    const o = await startWorkerObservability({
      config: config({ metricsPort: undefined }),
      logger: capture().logger,
    });
    open.push(o);
    expect(o.metrics).toBeUndefined();
    expect(o.server).toBeUndefined();
  });

  it("logs the bound address and answers 503 until the attached worker runs", async () => {
    const { logger, lines } = capture();
    const o = await startWorkerObservability({ config: config({}), logger });
    open.push(o);
    expect(o.metrics).toBeDefined();
    const line = lines.find((l) => l.msg === "metrics and health endpoints listening");
    expect(line?.url).toBe(o.server?.url);
    expect(line?.port).toBeGreaterThan(0);
    expect((await fetch(`${o.server?.url}/readyz`)).status).toBe(503);
    o.attach(fakeWorker("running"));
    expect((await fetch(`${o.server?.url}/readyz`)).status).toBe(200);
  });

  it("rejects with LISTEN_FAILED when a port that was asked for is taken", async () => {
    const port = await takenPort();
    const err = await startWorkerObservability({
      config: config({ metricsPort: port }),
      logger: capture().logger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EhwError);
    expect((err as EhwError).code).toBe("LISTEN_FAILED");
  });

  it("only warns, with metrics off, when the default port is taken", async () => {
    const port = await takenPort();
    const { logger, lines } = capture();
    const o = await startWorkerObservability({
      config: config({ metricsPort: port, metricsPortIsDefault: true }),
      logger,
    });
    open.push(o);
    expect(o.server).toBeUndefined();
    expect(o.metrics).toBeUndefined();
    expect(lines.find((l) => l.level === 40)?.msg).toMatch(/default metrics port unavailable/);
  });
});
