import { afterEach, describe, expect, it, vi } from "vitest";
import { isAbortError } from "../../../src/common/retry.js";
import { defaultBurst, TokenBucket } from "../../../src/producer/token-bucket.js";

/** A clock the test moves by hand. */
function manualClock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("TokenBucket", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("starts full: a burst goes out without waiting, the next event waits 1/rate", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 100, burst: 10, now: clock.now });
    expect(bucket.reserve(10)).toBe(0);
    expect(bucket.reserve(1)).toBeCloseTo(10, 6);
  });

  it("lets a batch larger than the burst through at the right time (debt)", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 1000, burst: 50, now: clock.now });
    // 550 events with 50 in the bucket: the last must wait until 500 more have accrued.
    expect(bucket.reserve(550)).toBeCloseTo(500, 6);
    // A later reservation queues behind the debt.
    expect(bucket.reserve(100)).toBeCloseTo(600, 6);
  });

  it("refills with time but never beyond the burst", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5, now: clock.now });
    expect(bucket.reserve(5)).toBe(0);
    clock.advance(60_000);
    expect(bucket.reserve(5)).toBe(0);
    expect(bucket.reserve(1)).toBeCloseTo(100, 6);
  });

  it("holds the rate over many seconds of reservations", () => {
    const clock = manualClock();
    const rate = 2500;
    const bucket = new TokenBucket({ ratePerSecond: rate, now: clock.now });
    let sent = 0;
    // A sender that always sends 40 events and sleeps exactly as long as it is told.
    while (clock.now() < 10_000) {
      clock.advance(bucket.reserve(40));
      sent += 40;
    }
    const expected = (rate * clock.now()) / 1000 + bucket.burst;
    expect(Math.abs(sent - expected)).toBeLessThanOrEqual(40);
  });

  it("refunds an unused reservation", () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 100, burst: 10, now: clock.now });
    bucket.reserve(30);
    bucket.refund(30);
    expect(bucket.reserve(10)).toBe(0);
  });

  it("take() waits for the reservation on the timer", async () => {
    vi.useFakeTimers();
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1, now: clock.now });
    await bucket.take(1);
    let done = false;
    const pending = bucket.take(2).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(199);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await pending;
    expect(done).toBe(true);
  });

  it("take() rejects with an AbortError on abort and gives the tokens back", async () => {
    vi.useFakeTimers();
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 10, now: clock.now });
    bucket.reserve(10);
    const stop = new AbortController();
    const pending = bucket.take(10, stop.signal);
    stop.abort();
    await expect(pending).rejects.toSatisfy(isAbortError);
    clock.advance(1000);
    expect(bucket.reserve(10)).toBe(0);
  });

  it("rejects a rate that is not above 0", () => {
    expect(() => new TokenBucket({ ratePerSecond: 0 })).toThrow(RangeError);
    expect(() => new TokenBucket({ ratePerSecond: Number.NaN })).toThrow(RangeError);
  });

  it("defaults the burst to 50 ms of events, at least one", () => {
    expect(defaultBurst(1)).toBe(1);
    expect(defaultBurst(1000)).toBe(50);
    expect(defaultBurst(10_001)).toBe(501);
  });
});
