import { describe, expect, it } from "vitest";
import { renderLiveView, renderSummary } from "../../../src/dev/render.js";
import { formatDurationMs, tracesLine, tracesLines } from "../../../src/dev/render-traces.js";
import { bannerLines } from "../../../src/dev/session.js";
import { TraceSummary } from "../../../src/dev/trace-summary.js";
import { buildDevView, type TracesSnapshot } from "../../../src/dev/view-model.js";

const T0 = 1_800_000_000_000;
const URL = "http://127.0.0.1:4318/v1/traces";

/** A summary fed with 3 s of attempt spans (one failing) and a slow blob write. */
function localTraces(): TracesSnapshot {
  const summary = new TraceSummary(T0, { rateWindowMs: 2000, settleMs: 1000 });
  const spans = [];
  for (let i = 0; i < 30; i++) {
    spans.push({
      name: "default process",
      pipeline: "default",
      startMs: T0 + i * 100,
      endMs: T0 + i * 100 + 4,
      error: false,
    });
  }
  spans.push({
    name: "default process",
    pipeline: "default",
    startMs: T0 + 2000,
    endMs: T0 + 2500,
    error: true,
    errorMessage: "db down",
  });
  spans.push({ name: "BlockBlobClient-upload", startMs: T0 + 100, endMs: T0 + 1600, error: false });
  summary.add(spans);
  const atMs = T0 + 3000;
  return { destination: URL, atMs, local: true, figures: summary.figures(atMs), refused: 0 };
}

const snapshot = {
  uptimeMs: 3000,
  hub: "orders",
  partitionCount: 1,
  producer: undefined,
  workers: [],
  partitions: undefined,
  partitionsError: undefined,
  processedPerSecond: undefined,
  redelivered: undefined,
};

describe("the traces part of the dev view", () => {
  it("shows spans per second, the slowest pipeline and the last error span", () => {
    // Window [T0, T0+2000): 20 attempt spans and the blob write over 2 s.
    expect(tracesLine(localTraces())).toBe(
      "10.5 spans/s (32 received) · slowest pipeline default process p95 4.00 ms, max 500 ms · linked to producer 0% · error spans 1 (last 1 s ago: default process: db down)",
    );
  });

  it("lists the slowest span names in the live view, pipelines marked", () => {
    const lines = tracesLines(localTraces());
    expect(lines[0]).toMatch(/^traces {5}10\.5 spans\/s/);
    expect(lines.slice(2)).toEqual([
      "  BlockBlobClient-upload                  1        1.50 s     1.50 s",
      "  default process (pipeline)              31       4.00 ms    500 ms",
    ]);
    const live = renderLiveView(
      buildDevView({ ...snapshot, traces: localTraces() }),
      {
        dataDir: "/d",
        eventHubConnectionString: "e",
        hub: "orders",
        storageConnectionString: "s",
        containerName: "c",
        ratePerSecond: 0,
      },
      { columns: 200, rows: 40, color: false, message: undefined },
    );
    expect(live).toContain(lines[0]);
    expect(live).toContain(lines[2]);
  });

  it("says where the spans go when a collector takes them, and is absent without --tracing", () => {
    const collector: TracesSnapshot = { destination: "http://c:4318/v1/traces", atMs: T0, local: false };
    expect(renderSummary(buildDevView({ ...snapshot, traces: collector })).at(-1)).toBe(
      "  traces exported to http://c:4318/v1/traces (the OTEL_* variables' collector; no summary here)",
    );
    expect(renderSummary(buildDevView(snapshot)).some((l) => l.includes("traces"))).toBe(false);
  });

  it("notes refused exports, and shows nothing slow before any span arrived", () => {
    const empty: TracesSnapshot = {
      destination: URL,
      atMs: T0 + 100,
      local: true,
      figures: new TraceSummary(T0).figures(T0 + 100),
      refused: 2,
    };
    const view = buildDevView({ ...snapshot, traces: empty });
    expect(view.notes).toEqual(["traces: the receiver refused 2 export requests (see logs/stack.log)"]);
    expect(tracesLine(empty)).toBe(
      "- spans/s (0 received) · slowest pipeline - · linked to producer - · error spans 0",
    );
    expect(tracesLines(empty).at(-1)).toBe("  (none received yet)");
  });

  it("formats durations", () => {
    expect(formatDurationMs(0.4242)).toBe("0.42 ms");
    expect(formatDurationMs(12.34)).toBe("12.3 ms");
    expect(formatDurationMs(250.4)).toBe("250 ms");
    expect(formatDurationMs(1250)).toBe("1.25 s");
    expect(formatDurationMs(undefined)).toBe("-");
  });

  it("names the destination in the banner", () => {
    const info = {
      dataDir: "/d",
      eventHubConnectionString: "e",
      hub: "orders",
      storageConnectionString: "s",
      containerName: "c",
      ratePerSecond: 0,
    };
    expect(bannerLines({ ...info, traces: { destination: URL, local: true } }).at(-1)).toBe(
      `Workers export traces to ${URL} (this stack's receiver; the view summarises them).`,
    );
    expect(bannerLines(info).some((l) => l.includes("traces"))).toBe(false);
  });
});
