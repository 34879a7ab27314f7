import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeadlineWatch } from "../../../../../src/worker/partition/attempts/deadlines.js";

describe("DeadlineWatch", () => {
  let now = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 0;
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const advance = (ms: number): void => {
    now += ms;
    vi.advanceTimersByTime(ms);
  };

  it("expires each deadline once, in its own time, and forgets removed ones", () => {
    const watch = new DeadlineWatch(() => now);
    const fired: string[] = [];
    watch.add(100, () => fired.push("a"));
    const removeB = watch.add(50, () => fired.push("b"));
    watch.add(200, () => fired.push("c"));
    removeB();
    advance(60);
    expect(fired).toEqual([]);
    advance(40);
    expect(fired).toEqual(["a"]);
    advance(100);
    expect(fired).toEqual(["a", "c"]);
    advance(1000);
    expect(fired).toEqual(["a", "c"]);
    expect(watch.size).toBe(0);
  });

  it("lets go of finished entries while attempts keep finishing in the order they started", () => {
    const watch = new DeadlineWatch(() => now);
    const running: Array<() => void> = [];
    for (let i = 0; i < 100_000; i += 1) {
      running.push(watch.add(60_000, () => {}));
      // A steady window of 256 attempts: the lane never empties.
      if (running.length > 256) running.shift()?.();
      now += 0.01;
    }
    expect(watch.size).toBe(256);
    expect(watch.retained).toBeLessThanOrEqual(4 * 1024);
  });

  it("lets go of entries that finished behind one that runs long, after a few dozen", () => {
    const watch = new DeadlineWatch(() => now);
    // One partition's attempt runs long; another partition's attempts start and finish in turn.
    const slow = watch.add(60_000, () => {});
    for (let i = 0; i < 10_000; i += 1) {
      watch.add(60_000, () => {})();
      now += 0.01;
      // Each finished entry may hold a batch of events: few of them may stay referenced.
      expect(watch.retained).toBeLessThanOrEqual(2 * 64 + 1);
    }
    expect(watch.size).toBe(1);
    slow();
    watch.add(60_000, () => {})();
    // Only the last one is still referenced, until the next registration passes it.
    expect(watch.retained).toBe(1);
  });

  it("expires a watched entry object by calling its expire method, and not once unwatched", () => {
    const watch = new DeadlineWatch(() => now);
    const expired: string[] = [];
    const entry = (name: string) => ({
      deadlineMs: 0,
      expire() {
        expired.push(name);
      },
    });
    const a = entry("a");
    const b = entry("b");
    advance(5);
    watch.watch(a, 100);
    watch.watch(b, 50);
    expect(a.deadlineMs).toBe(105);
    watch.unwatch(b);
    advance(100);
    expect(expired).toEqual(["a"]);
    expect(Number.isNaN(a.deadlineMs)).toBe(true);
    expect(watch.size).toBe(0);
  });

  it("keeps live deadlines that dead ones of the same length surround, however many", () => {
    const watch = new DeadlineWatch(() => now);
    const expired: number[] = [];
    const entries = Array.from({ length: 5000 }, (_, i) => ({
      deadlineMs: 0,
      expire() {
        expired.push(i);
      },
    }));
    // Every entry but each 1000th settles, ten registrations late, so a live one (entry 0 first)
    // stays at the front of the lane while thousands of dead ones pile up behind it.
    const settles = (i: number): boolean => i % 1000 !== 0;
    for (const [i, entry] of entries.entries()) {
      watch.watch(entry, 1000);
      if (i >= 10 && settles(i - 10)) watch.unwatch(entries[i - 10]!);
      if (i % 7 === 0) advance(1);
    }
    for (let i = entries.length - 10; i < entries.length; i += 1) if (settles(i)) watch.unwatch(entries[i]!);
    expect(watch.size).toBe(5);
    advance(1000);
    expect(expired).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(watch.size).toBe(0);
  });

  it("counts a deadline registered late from the start it is given", () => {
    const watch = new DeadlineWatch(() => now);
    const fired: string[] = [];
    const startedAt = watch.now();
    advance(30);
    watch.watchFrom({ deadlineMs: 0, expire: () => fired.push("late") }, startedAt, 50);
    advance(19);
    expect(fired).toEqual([]);
    advance(1);
    expect(fired).toEqual(["late"]);
  });

  it("re-arms for a deadline earlier than the one it waits for", () => {
    const watch = new DeadlineWatch(() => now);
    const fired: number[] = [];
    watch.add(1000, () => fired.push(1000));
    watch.add(10, () => fired.push(10));
    advance(10);
    expect(fired).toEqual([10]);
    advance(990);
    expect(fired).toEqual([10, 1000]);
  });

  it("keeps no entry for attempts that finished before their deadline", () => {
    const watch = new DeadlineWatch(() => now);
    let fired = 0;
    for (let i = 0; i < 10_000; i += 1) {
      const remove = watch.add(60_000, () => {
        fired += 1;
      });
      remove();
    }
    expect(watch.size).toBe(0);
    advance(61_000);
    expect(fired).toBe(0);
  });
});
