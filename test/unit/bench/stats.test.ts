import { describe, expect, it } from "vitest";
import { median, ratio, roundOrder, spread } from "../../../bench/lib/stats.js";

describe("median", () => {
  it("takes the middle of an odd count, whatever the input order", () => {
    expect(median([21.3, 18.6, 19.8])).toBe(19.8);
    expect(median([5])).toBe(5);
  });

  it("takes the mean of the middle two of an even count", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("leaves its input unsorted", () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it("refuses no values", () => {
    expect(() => median([])).toThrow(/no values/);
  });
});

describe("spread", () => {
  it("gives median, min and max", () => {
    expect(spread([0.96, 0.85, 0.91, 0.93, 0.88])).toEqual({ median: 0.91, min: 0.85, max: 0.96 });
  });
});

describe("roundOrder", () => {
  const fast = ["raw", "w100", "w1000"] as const;

  it("rotates left by one place per round, back to the start after a full cycle", () => {
    expect(roundOrder(fast, 1)).toEqual(["raw", "w100", "w1000"]);
    expect(roundOrder(fast, 2)).toEqual(["w100", "w1000", "raw"]);
    expect(roundOrder(fast, 3)).toEqual(["w1000", "raw", "w100"]);
    expect(roundOrder(fast, 4)).toEqual(["raw", "w100", "w1000"]);
  });

  it("puts every item once in every position over a full cycle", () => {
    for (let position = 0; position < fast.length; position++) {
      const atPosition = [1, 2, 3].map((r) => roundOrder(fast, r)[position]);
      expect(new Set(atPosition).size).toBe(fast.length);
    }
  });

  it("leaves its input as it was and handles no items", () => {
    const items = ["a", "b"];
    roundOrder(items, 2);
    expect(items).toEqual(["a", "b"]);
    expect(roundOrder([], 3)).toEqual([]);
  });

  it("refuses a round that is not a whole number ≥ 1", () => {
    expect(() => roundOrder(fast, 0)).toThrow(/round/);
    expect(() => roundOrder(fast, 1.5)).toThrow(/round/);
  });
});

describe("ratio", () => {
  it("divides, and gives 0 for a denominator that measured nothing", () => {
    expect(ratio(9, 10)).toBe(0.9);
    expect(ratio(9, 0)).toBe(0);
  });
});
