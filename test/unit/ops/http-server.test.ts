import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EhwError } from "../../../src/common/errors.js";
import type { HealthReport } from "../../../src/ops/health.js";
import {
  type HealthSource,
  type ObservabilityServer,
  startObservabilityServer,
} from "../../../src/ops/http-server.js";
import { WorkerMetrics } from "../../../src/ops/metrics.js";
import { sampleValue } from "./exposition.js";

const servers: ObservabilityServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(health?: HealthSource, metrics = new WorkerMetrics({ defaultMetrics: false })) {
  const server = await startObservabilityServer({ host: "127.0.0.1", port: 0, metrics, health });
  servers.push(server);
  return { server, metrics };
}

function health(live: HealthReport, ready: HealthReport): HealthSource {
  return { liveness: () => live, readiness: async () => ready };
}

const OK: HealthReport = { ok: true, status: "ok", reasons: [] };

describe("startObservabilityServer", () => {
  it("serves /metrics in the registry's content type", async () => {
    const { server, metrics } = await start();
    metrics.partitionClaimed("0").received(4, 3, 3);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(metrics.contentType);
    expect(sampleValue(await res.text(), "ehw_events_received_total", { partition: "0" })).toBe(4);
  });

  it("answers /healthz and /readyz with 200 or 503 and a JSON reason", async () => {
    const notReady: HealthReport = { ok: false, status: "not ready", reasons: ["worker is starting"] };
    const { server } = await start(health(OK, notReady));
    const live = await fetch(`${server.url}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "ok", reasons: [] });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await ready.json()).toEqual({ status: "not ready", reasons: ["worker is starting"] });
  });

  it("answers 404 for other paths and 405 for other methods", async () => {
    const { server } = await start(health(OK, OK));
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await fetch(`${server.url}/metricsx`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${server.url}/healthz?verbose=1`)).status).toBe(200);
  });

  it("serves no health paths without a health source", async () => {
    const { server } = await start(undefined);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  });

  it("answers 500 when building a response fails, and keeps serving", async () => {
    let fail = true;
    const server = await startObservabilityServer({
      port: 0,
      metrics: {
        contentType: "text/plain",
        text: async () => {
          if (fail) throw new Error("collect failed");
          return "x 1\n";
        },
      },
    });
    servers.push(server);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(500);
    fail = false;
    expect(await (await fetch(`${server.url}/metrics`)).text()).toBe("x 1\n");
  });

  it("rejects with LISTEN_FAILED when the port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = blocker.address() as { port: number };
      const err = await startObservabilityServer({ host: "127.0.0.1", port }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EhwError);
      expect((err as EhwError).code).toBe("LISTEN_FAILED");
      expect((err as EhwError).context.code).toBe("EADDRINUSE");
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("closes with a keep-alive connection open, and close is idempotent", async () => {
    const { server } = await start(health(OK, OK));
    await fetch(`${server.url}/healthz`, { headers: { connection: "keep-alive" } });
    await Promise.all([server.close(), server.close()]);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
