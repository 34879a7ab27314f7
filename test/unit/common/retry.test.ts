import { afterEach, describe, expect, it, vi } from "vitest";
import { backoffDelayMs, isAbortError, sleep } from "../../../src/common/retry.js";

describe("backoffDelayMs", () => {
  const options = { baseDelayMs: 200, maxDelayMs: 30_000 };

  it("doubles the cap per attempt, with equal jitter in [cap/2, cap)", () => {
    expect(backoffDelayMs(1, options, () => 0)).toBe(100);
    expect(backoffDelayMs(1, options, () => 0.999999)).toBe(199);
    expect(backoffDelayMs(2, options, () => 0)).toBe(200);
    expect(backoffDelayMs(3, options, () => 0.5)).toBe(600);
  });

  it("never exceeds maxDelayMs, even for huge attempt numbers", () => {
    for (const attempt of [8, 9, 20, 1000, 100_000]) {
      const d = backoffDelayMs(attempt, options, () => 0.999999);
      expect(d).toBeLessThanOrEqual(30_000);
      expect(d).toBeGreaterThanOrEqual(15_000);
    }
  });

  it("rejects an attempt number below 1", () => {
    expect(() => backoffDelayMs(0, options)).toThrow(/positive integer/);
  });
});

describe("sleep", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves after the delay", async () => {
    vi.useFakeTimers();
    let resolved = false;
    const p = sleep(1000).then(() => {
      resolved = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(resolved).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(resolved).toBe(true);
  });

  it("rejects at once with an AbortError when the signal aborts, and clears its timer", async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const p = sleep(60_000, controller.signal);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort(new Error("shutdown"));
    const error = await p.catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects without a timer when the signal is already aborted", async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    controller.abort();
    await expect(sleep(10, controller.signal)).rejects.toSatisfy(isAbortError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("does not classify other errors as aborts", () => {
    expect(isAbortError(new Error("boom"))).toBe(false);
    expect(isAbortError("AbortError")).toBe(false);
  });
});
