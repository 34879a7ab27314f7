import { describe, expect, it } from "vitest";
import {
  CachedProbe,
  decideLiveness,
  decideReadiness,
  describeProbeError,
  HealthMonitor,
  type ReadinessSource,
} from "../../../src/ops/health.js";
import type { WorkerState } from "../../../src/worker/lifecycle.js";
import { waitFor } from "../../helpers/wait-for.js";

const base = {
  nowMs: 100_000,
  lastTickAtMs: 99_800,
  checkIntervalMs: 500,
  stallThresholdMs: 5000,
  stallReportMs: 10_000,
  lastStall: undefined,
};

describe("decideLiveness", () => {
  it("is ok while the timer runs on time and no stall was seen", () => {
    expect(decideLiveness(base)).toEqual({ ok: true, status: "ok", reasons: [] });
  });

  it("is stalled when the timer is overdue by more than the threshold", () => {
    const report = decideLiveness({ ...base, lastTickAtMs: base.nowMs - 500 - 5001 });
    expect(report.ok).toBe(false);
    expect(report.status).toBe("stalled");
    expect(report.reasons[0]).toMatch(/overdue by 5001 ms/);
  });

  it("is not stalled when overdue exactly by the threshold", () => {
    expect(decideLiveness({ ...base, lastTickAtMs: base.nowMs - 500 - 5000 }).ok).toBe(true);
  });

  it("reports a past stall for stallReportMs, then forgets it", () => {
    const lastStall = { atMs: base.nowMs - 9_999, delayMs: 6000 };
    const report = decideLiveness({ ...base, lastStall });
    expect(report.ok).toBe(false);
    expect(report.reasons[0]).toMatch(/stalled for 6000 ms, 9999 ms ago/);
    expect(decideLiveness({ ...base, lastStall: { ...lastStall, atMs: base.nowMs - 10_000 } }).ok).toBe(true);
  });
});

describe("decideReadiness", () => {
  const ok = { ok: true, atMs: 1 };

  it("is ready when running with both probes ok", () => {
    expect(decideReadiness({ state: "running", eventHub: ok, checkpointStore: ok }).ok).toBe(true);
  });

  it.each<WorkerState>(["starting", "draining", "stopped", "failed"])("is not ready while %s", (state) => {
    const report = decideReadiness({ state });
    expect(report).toEqual({ ok: false, status: "not ready", reasons: [`worker is ${state}`] });
  });

  it("names every failed probe", () => {
    const report = decideReadiness({
      state: "running",
      eventHub: { ok: false, atMs: 1, error: "ServiceCommunicationError: boom" },
      checkpointStore: { ok: false, atMs: 1, error: "ECONNREFUSED: refused" },
    });
    expect(report.ok).toBe(false);
    expect(report.reasons).toEqual([
      "event hub not readable: ServiceCommunicationError: boom",
      "checkpoint container not reachable: ECONNREFUSED: refused",
    ]);
  });

  it("is not ready while receivers are refused as not found, naming the group and the hub", () => {
    const report = decideReadiness({
      state: "running",
      eventHub: ok,
      checkpointStore: ok,
      entityNotFound: { partitionIds: ["0", "3"], lastSeenAtMs: 9_000 },
      consumerGroup: "orders",
      eventHubName: "hub1",
      nowMs: 10_000,
    });
    expect(report.ok).toBe(false);
    expect(report.reasons).toHaveLength(1);
    expect(report.reasons[0]).toContain("partitions 0, 3");
    expect(report.reasons[0]).toContain("MessagingEntityNotFoundError (last 1000 ms ago)");
    expect(report.reasons[0]).toContain('consumer group "orders" of event hub "hub1"');
  });
});

describe("describeProbeError", () => {
  it("uses the code when there is one, the name otherwise, and removes secrets", () => {
    const err = Object.assign(new Error("failed for AccountKey=abc123;x"), { code: "ECONNREFUSED" });
    expect(describeProbeError(err)).toBe("ECONNREFUSED: failed for AccountKey=[redacted];x");
    expect(describeProbeError(new TypeError("bad"))).toBe("TypeError: bad");
  });
});

describe("CachedProbe", () => {
  it("reuses a result for cacheMs and shares one run between concurrent callers", async () => {
    let now = 0;
    let runs = 0;
    const probe = new CachedProbe(
      async () => {
        runs += 1;
      },
      { cacheMs: 5000, timeoutMs: 1000 },
      () => now,
    );
    const [a, b] = await Promise.all([probe.get(), probe.get()]);
    expect(a).toEqual({ ok: true, atMs: 0 });
    expect(b).toBe(a);
    now = 4999;
    await probe.get();
    expect(runs).toBe(1);
    now = 5000;
    await probe.get();
    expect(runs).toBe(2);
  });

  it("turns a rejection or a timeout into a failed result", async () => {
    const failing = new CachedProbe(() => Promise.reject(Object.assign(new Error("nope"), { code: "E1" })), {
      cacheMs: 0,
      timeoutMs: 1000,
    });
    expect(await failing.get()).toMatchObject({ ok: false, error: "E1: nope" });
    const hanging = new CachedProbe(
      (signal) =>
        new Promise((_, reject) => {
          signal.addEventListener("abort", () => reject(signal.reason));
        }),
      { cacheMs: 0, timeoutMs: 20 },
    );
    expect(await hanging.get()).toMatchObject({ ok: false, error: expect.stringMatching(/^TimeoutError/) });
  });
});

describe("HealthMonitor", () => {
  function source(state: WorkerState, failStore = false): ReadinessSource & { probes: number } {
    const s = {
      probes: 0,
      status: () => ({ state }),
      probeEventHub: async () => {
        s.probes += 1;
      },
      probeCheckpointStore: async () => {
        s.probes += 1;
        if (failStore) throw Object.assign(new Error("connect refused"), { code: "ECONNREFUSED" });
      },
    };
    return s;
  }

  it("detects a stall from timer drift and reports it for stallReportMs", () => {
    let now = 1_000;
    const monitor = new HealthMonitor({ source: source("running"), clock: () => now });
    monitor.start();
    try {
      now += 500;
      monitor.tick();
      expect(monitor.liveness().ok).toBe(true);
      now += 500 + 6000;
      monitor.tick();
      expect(monitor.liveness()).toMatchObject({ ok: false, status: "stalled" });
      now += 500;
      monitor.tick();
      expect(monitor.liveness().ok).toBe(false);
      for (let i = 0; i < 20; i++) {
        now += 500;
        monitor.tick();
      }
      expect(monitor.liveness().ok).toBe(true);
    } finally {
      monitor.stop();
    }
  });

  it("sees a stall on a real blocked event loop", async () => {
    const monitor = new HealthMonitor({
      source: source("running"),
      checkIntervalMs: 20,
      stallThresholdMs: 100,
    });
    monitor.start();
    try {
      const until = Date.now() + 250;
      while (Date.now() < until) {
        // Busy-wait: this is the stall under test.
      }
      // Right after the block the timer is overdue; once it has run, it has recorded the stall.
      expect(monitor.liveness()).toMatchObject({ ok: false, status: "stalled" });
      const report = await waitFor(() => {
        const r = monitor.liveness();
        return r.reasons.some((reason) => reason.includes("stalled for")) ? r : undefined;
      });
      expect(report.ok).toBe(false);
    } finally {
      monitor.stop();
    }
  });

  it("does not probe while the worker is not running", async () => {
    const s = source("starting");
    const report = await new HealthMonitor({ source: s }).readiness();
    expect(report.reasons).toEqual(["worker is starting"]);
    expect(s.probes).toBe(0);
  });

  it("is ready when running and both probes pass, not ready when storage fails", async () => {
    expect((await new HealthMonitor({ source: source("running") }).readiness()).ok).toBe(true);
    const report = await new HealthMonitor({ source: source("running", true) }).readiness();
    expect(report.ok).toBe(false);
    expect(report.reasons).toEqual(["checkpoint container not reachable: ECONNREFUSED: connect refused"]);
  });
});
