import { describe, expect, it } from "vitest";
import { NotFoundWatch } from "../../../src/worker/not-found-watch.js";

describe("NotFoundWatch", () => {
  function watch() {
    const clock = { now: 1_000 };
    return { clock, watch: new NotFoundWatch(3_000, () => clock.now) };
  }

  it("reports nothing until a refusal is seen", () => {
    expect(watch().watch.status()).toBeUndefined();
  });

  it("reports refused partitions by id order with the last time", () => {
    const { clock, watch: w } = watch();
    w.seen("10");
    clock.now = 1_500;
    w.seen("2");
    expect(w.status()).toEqual({ partitionIds: ["2", "10"], lastSeenAtMs: 1_500 });
  });

  it("forgets a partition once it delivers a batch", () => {
    const { watch: w } = watch();
    w.seen("0");
    w.seen("1");
    w.received("0");
    expect(w.status()?.partitionIds).toEqual(["1"]);
    w.received("1");
    expect(w.status()).toBeUndefined();
  });

  it("forgets refusals older than the window, and counts a repeated one from its last time", () => {
    const { clock, watch: w } = watch();
    w.seen("0");
    w.seen("1");
    clock.now = 3_500;
    w.seen("1");
    clock.now = 4_001;
    expect(w.status()).toEqual({ partitionIds: ["1"], lastSeenAtMs: 3_500 });
    clock.now = 6_501;
    expect(w.status()).toBeUndefined();
  });
});
