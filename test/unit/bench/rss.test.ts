import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { RssSampler, statusBytes } from "../../../bench/lib/rss.js";

describe("RSS from /proc", () => {
  it.runIf(process.platform === "linux")("reads this process's VmRSS and its peak VmHWM in bytes", () => {
    const rss = statusBytes(process.pid, "VmRSS") ?? 0;
    const hwm = statusBytes(process.pid, "VmHWM") ?? 0;
    // A Node process holds tens of megabytes; kB read as bytes would be a thousand times less.
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(hwm).toBeGreaterThanOrEqual(rss);
  });

  it("gives undefined for a process that is gone", () => {
    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    expect(statusBytes(gone, "VmRSS")).toBeUndefined();
  });

  it.runIf(process.platform === "linux")("keeps the highest sample and VmHWM as the peak", () => {
    const sampler = new RssSampler(process.pid);
    const first = sampler.sample();
    expect(first).toBeGreaterThan(0);
    expect(sampler.sampledPeakBytes).toBe(first);
    expect(sampler.peakBytes()).toBeGreaterThanOrEqual(first);
    expect(new RssSampler(spawnSync(process.execPath, ["-e", ""]).pid).peakBytes()).toBe(0);
  });
});
