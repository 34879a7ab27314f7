import { describe, expect, it } from "vitest";
import {
  buildReport,
  ownershipIntervals,
  renderJson,
  renderMarkdown,
  renderTimelineSvg,
} from "../../../src/drill/report/index.js";
import type { DrillObservations } from "../../../src/drill/types.js";
import { cleanObservations, owners } from "./fixtures.js";

function reportOf(obs: DrillObservations) {
  return buildReport(
    {
      seed: 7,
      workers: 2,
      partitions: 2,
      events: 400,
      keys: 0,
      ratePerSecond: undefined,
      faults: { kill: 1 },
    },
    {
      startedAtMs: 0,
      endedAtMs: 21_000,
      stackStartupMs: 3000,
      workerFlags: { "--checkpoint-every": "10" },
      send: { seconds: 2, retriedBatches: 0 },
      caughtUp: true,
      catchUpMs: 1000,
    },
    obs,
    ["w1", "w2"],
  );
}

describe("ownershipIntervals", () => {
  it("merges equal owners, ends at a change or release, and runs to the end", () => {
    const samples = [
      owners(0, { "0": "w1" }),
      owners(500, { "0": "w1" }),
      owners(1000, { "0": "" }),
      owners(1500, { "0": "w2" }),
      owners(2000, { "0": "w3" }),
    ];
    expect(ownershipIntervals(samples, ["0", "1"], 3000)).toEqual([
      { partitionId: "0", owner: "w1", fromMs: 0, toMs: 1000 },
      { partitionId: "0", owner: "w2", fromMs: 1500, toMs: 2000 },
      { partitionId: "0", owner: "w3", fromMs: 2000, toMs: 3000 },
    ]);
  });
});

describe("renderTimelineSvg", () => {
  it("has one bar group per partition, a marker per fault and a legend entry per owner", () => {
    const obs = cleanObservations();
    const faults = [
      ...obs.faults,
      { index: 1, kind: "restart-hub" as const, atMs: 16_000, doneAtMs: 17_000 },
    ];
    const svg = renderTimelineSvg(reportOf({ ...obs, faults }));
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<g class="partition"/g)).toHaveLength(2);
    expect(svg).toContain('data-partition="0"');
    expect(svg).toContain('data-partition="1"');
    expect(svg.match(/<g class="fault"/g)).toHaveLength(2);
    expect(svg).toContain("kill#0 w1");
    expect(svg).toContain("restart-hub#1");
    expect(svg.match(/<g class="legend"/g)).toHaveLength(2);
    expect(svg.match(/data-owner="w2"/g)).toHaveLength(2);
  });

  it("escapes owner names", () => {
    const obs = cleanObservations({ ownerships: [owners(100, { "0": "<w&1>" })] });
    const svg = renderTimelineSvg(reportOf(obs));
    expect(svg).not.toContain("<w&1>");
    expect(svg).toContain("&#60;w&#38;1&#62;");
  });
});

describe("renderMarkdown and renderJson", () => {
  it("summarizes a passing drill with its fault, failover times and duplicates", () => {
    const md = renderMarkdown(reportOf(cleanObservations()));
    expect(md).toMatch(/^# Drill PASSED/);
    expect(md).toContain("Seed: **7**");
    expect(md).toContain("| kill#0 | 3.00 s | w1 | 0, 1 | 11.50 s | 12.00 s | 10 | 0 |");
    expect(md).toContain("| lost-events | pass |");
    expect(md).toContain("| kill@0 | 1 | 10 | 25 |");
  });

  it("names the failed invariants in the title", () => {
    const obs = cleanObservations();
    const md = renderMarkdown(reportOf({ ...obs, checkpoints: obs.checkpoints.slice(0, 1) }));
    expect(md).toMatch(/^# Drill FAILED: not-caught-up/);
    expect(md).toContain("| not-caught-up | **FAIL** |");
  });

  it("keeps every figure in the JSON", () => {
    const parsed = JSON.parse(renderJson(reportOf(cleanObservations())));
    expect(parsed.verdict.passed).toBe(true);
    expect(parsed.failovers[0].ownedAgainMs).toBe(11_500);
    expect(parsed.failoverByKind.kill.resumed.maxMs).toBe(12_000);
    expect(parsed.verdict.duplicates.handovers[0].duplicates).toBe(10);
    expect(parsed.throughput.eventsPerSecond).toBeGreaterThan(0);
  });
});
