import { describe, expect, it } from "vitest";
import { pickVictim, planSchedule, seededRandom } from "../../../src/drill/schedule.js";

const options = {
  seed: 42,
  counts: { kill: 2, term: 1, "restart-hub": 1 },
  firstAtMs: 5000,
  spacingMs: 10_000,
};

describe("planSchedule", () => {
  it("is identical for the same seed", () => {
    expect(planSchedule(options)).toEqual(planSchedule({ ...options }));
  });

  it("differs for another seed", () => {
    const a = planSchedule(options);
    const others = [1, 2, 3, 4, 5].map((seed) => planSchedule({ ...options, seed }));
    expect(others.some((b) => JSON.stringify(b) !== JSON.stringify(a))).toBe(true);
  });

  it("plans each requested fault once, spaced and jittered by at most 20 %", () => {
    const plan = planSchedule(options);
    expect(plan.map((f) => f.kind).sort()).toEqual(["kill", "kill", "restart-hub", "term"]);
    plan.forEach((fault, i) => {
      expect(fault.index).toBe(i);
      expect(fault.atOffsetMs).toBeGreaterThanOrEqual(5000 + i * 10_000);
      expect(fault.atOffsetMs).toBeLessThanOrEqual(5000 + i * 10_000 + 2000);
      expect(fault.pick).toBeGreaterThanOrEqual(0);
      expect(fault.pick).toBeLessThan(1);
    });
  });

  it("plans nothing without counts", () => {
    expect(planSchedule({ ...options, counts: {} })).toEqual([]);
  });
});

describe("seededRandom and pickVictim", () => {
  it("repeats its sequence for a seed and stays in [0, 1)", () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it("picks among the running workers sorted by id", () => {
    expect(pickVictim(["w3", "w1", "w2"], 0)).toBe("w1");
    expect(pickVictim(["w3", "w1", "w2"], 0.5)).toBe("w2");
    expect(pickVictim(["w3", "w1", "w2"], 0.99)).toBe("w3");
    expect(pickVictim([], 0.5)).toBeUndefined();
  });
});
