import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { handOversIn } from "../../../bench/lib/fleet-watch.js";

const RECEIVED = "partition received by hand-over";
const FELL_BACK = "hand-over not answered; stealing the partition";

function line(time: string, msg: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ level: 30, time, component: "worker", ...extra, msg });
}

describe("handOversIn", () => {
  it("counts completed hand-overs with their pauses and fallbacks after the given time", () => {
    const text = [
      line("2026-12-03T10:00:00.000Z", RECEIVED, { partitionId: "1", pauseMs: 999 }),
      line("2026-12-03T10:00:05.000Z", RECEIVED, { partitionId: "2", pauseMs: 120 }),
      "not json",
      line("2026-12-03T10:00:06.000Z", RECEIVED, { partitionId: "3" }),
      line("2026-12-03T10:00:07.000Z", FELL_BACK, { partitionId: "4" }),
      line("2026-12-03T10:00:08.000Z", "partition claimed", { partitionId: "5", pauseMs: 7 }),
      "{ broken",
    ].join("\n");
    const since = Date.parse("2026-12-03T10:00:01.000Z");
    expect(handOversIn(text, since)).toEqual({ completed: 2, pausesMs: [120], fellBack: 1 });
  });

  it("reads the lines the worker writes", () => {
    const source = readFileSync(new URL("../../../src/worker/handover-wiring.ts", import.meta.url), "utf8");
    expect(source).toContain(`"${RECEIVED}"`);
    expect(source).toContain(`"${FELL_BACK}"`);
  });
});
