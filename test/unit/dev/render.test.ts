import { describe, expect, it } from "vitest";
import {
  clipLine,
  compactIds,
  type DevInfo,
  formatNumber,
  formatUptime,
  KEY_HELP,
  renderLiveView,
  renderSummary,
  visibleLength,
} from "../../../src/dev/render.js";
import type { DevView, PartitionRow, WorkerRow } from "../../../src/dev/view-model.js";

function workerRow(overrides: Partial<WorkerRow> = {}): WorkerRow {
  return {
    ownerId: "worker-1",
    pid: 4242,
    state: "running",
    stateLabel: "running",
    partitions: ["0", "1", "2", "5"],
    eventsPerSecond: 66.66,
    inFlight: undefined,
    processed: 1234,
    note: undefined,
    ...overrides,
  };
}

function partition(id: string, overrides: Partial<PartitionRow> = {}): PartitionRow {
  return {
    partitionId: id,
    owner: "worker-1",
    expired: false,
    ownerExited: false,
    checkpoint: 100,
    lastEnqueued: 110,
    lag: 10,
    ...overrides,
  };
}

function view(overrides: Partial<DevView> = {}): DevView {
  return {
    uptimeMs: 83_000,
    hub: "orders",
    workers: [
      workerRow(),
      workerRow({
        ownerId: "worker-2",
        pid: 4243,
        state: "exited",
        stateLabel: "exited SIGKILL",
        partitions: [],
        eventsPerSecond: undefined,
        processed: 99,
      }),
    ],
    partitions: [
      partition("0"),
      partition("1", { owner: "worker-2", ownerExited: true }),
      partition("2", { owner: undefined, checkpoint: undefined, lag: undefined }),
    ],
    totals: {
      sent: 12_345,
      sentPerSecond: 200,
      processed: 1333,
      processedPerSecond: 198.4,
      redelivered: undefined,
      lag: undefined,
      ownedPartitions: 1,
      partitionCount: 3,
      activeWorkers: 1,
    },
    notes: [],
    ...overrides,
  };
}

const info: DevInfo = {
  dataDir: "/tmp/ehw-dev-x",
  eventHubConnectionString:
    "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=s;UseDevelopmentEmulator=true",
  hub: "orders",
  storageConnectionString:
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
  containerName: "ehw-dev",
  ratePerSecond: 200,
};

describe("formatting helpers", () => {
  it("prints unknown numbers as '-' and small rates with one decimal", () => {
    expect(formatNumber(undefined)).toBe("-");
    expect(formatNumber(Number.NaN)).toBe("-");
    expect(formatNumber(12.345, 1)).toBe("12.3");
    expect(formatNumber(250.6, 1)).toBe("251");
    expect(formatNumber(7)).toBe("7");
  });

  it("formats uptime as mm:ss and h:mm:ss", () => {
    expect(formatUptime(0)).toBe("00:00");
    expect(formatUptime(83_999)).toBe("01:23");
    expect(formatUptime(3_723_000)).toBe("1:02:03");
  });

  it("compacts partition ids into ranges", () => {
    expect(compactIds([])).toBe("-");
    expect(compactIds(["3", "0", "1", "2", "6", "8", "9"])).toBe("0-3,6,8-9");
    expect(compactIds(["a", "b"])).toBe("a,b");
  });

  it("clips by visible width and keeps escape sequences", () => {
    const red = "\u001b[31mabcdef\u001b[0m";
    expect(visibleLength(red)).toBe(6);
    const clipped = clipLine(red, 3);
    expect(visibleLength(clipped)).toBe(3);
    expect(clipped.startsWith("\u001b[31mabc")).toBe(true);
    expect(clipLine("abcdef", 4)).toBe("abcd");
    expect(clipLine("abc", 10)).toBe("abc");
  });
});

describe("renderSummary", () => {
  it("lays out totals, one line per worker and one for partitions", () => {
    expect(renderSummary(view())).toEqual([
      "[01:23] sent 12345 (200/s) · processed 1333 (198/s) · lag - · partitions owned 1/3 · workers 1 active",
      "  worker-1   pid 4242    running        partitions 0-2,5       events/s 66.7    in-flight -     processed 1234",
      "  worker-2   pid 4243    exited SIGKILL partitions -           events/s -       in-flight -     processed 99",
      "  partitions 0:worker-1 lag 10 | 1:worker-2 (exited) lag 10 | 2:- lag -",
    ]);
  });

  it("shows redelivered events when they are known", () => {
    const totals = { ...view().totals, redelivered: 37 };
    expect(renderSummary(view({ totals }))[0]).toContain("processed 1333 (198/s) · redelivered 37 · lag -");
  });

  it("splits redelivered events by cause, leaving out causes with none", () => {
    const totals = {
      ...view().totals,
      redelivered: 12,
      redeliveredByCause: { crash: 10, handover: 0, steal: 2 },
    };
    expect(renderSummary(view({ totals }))[0]).toContain("redelivered 12 (crash 10, steal 2) · lag -");
  });

  it("shows unknown partitions by leaving their line out, and notes below", () => {
    const lines = renderSummary(view({ partitions: undefined, notes: ["producer stopped: boom"] }));
    expect(lines.some((l) => l.startsWith("  partitions"))).toBe(false);
    expect(lines.at(-1)).toBe("  producer stopped: boom");
  });
});

describe("renderLiveView", () => {
  const layout = { columns: 160, rows: 50, color: false, message: "started worker-3 (pid 77)" };

  it("shows connection strings, workers, partitions, totals, the keys and the message", () => {
    const lines = renderLiveView(view(), info, layout);
    const text = lines.join("\n");
    expect(lines[0]).toBe("ehw dev · hub orders · producer 200 events/s · up 01:23");
    expect(text).toContain(info.eventHubConnectionString);
    expect(text).toContain(info.storageConnectionString);
    expect(text).toMatch(/worker-2 +4243 +exited SIGKILL/);
    expect(text).toMatch(/1 +worker-2 \(exited\) +100 +110 +10/);
    expect(text).toMatch(/2 +- +- +110 +-/);
    expect(text).toContain("totals     sent 12345 (200/s)");
    expect(lines.at(-2)).toBe(KEY_HELP);
    expect(lines.at(-1)).toBe("started worker-3 (pid 77)");
  });

  it("fits a short terminal by cutting partition rows, and clips wide lines", () => {
    const many = Array.from({ length: 40 }, (_, i) => partition(String(i)));
    const lines = renderLiveView(view({ partitions: many }), info, { ...layout, rows: 30, columns: 60 });
    const rows = lines.reduce((sum, l) => sum + Math.max(1, Math.ceil(visibleLength(l) / 60)), 0);
    expect(rows).toBeLessThanOrEqual(30);
    expect(lines.some((l) => /… \d+ more partitions/.test(l))).toBe(true);
    // Only the connection strings may wrap.
    const wide = lines.filter((l) => visibleLength(l) > 60);
    expect(wide.every((l) => l.startsWith("eventhub") || l.startsWith("storage"))).toBe(true);
  });

  it("lists partitions side by side when the table does not fit", () => {
    const eight = Array.from({ length: 8 }, (_, i) => partition(String(i), { lag: i }));
    const lines = renderLiveView(view({ partitions: eight }), info, { ...layout, rows: 24, columns: 80 });
    const compact = lines.filter((l) => /^ {2}\d +worker-1/.test(l));
    expect(compact).toHaveLength(4);
    expect(compact[0]).toMatch(/^ {2}0 +worker-1 +lag 0 +1 +worker-1 +lag 1/);
    expect(lines.some((l) => l.includes("more partitions"))).toBe(false);
    expect(
      lines.reduce((sum, l) => sum + Math.max(1, Math.ceil(visibleLength(l) / 80)), 0),
    ).toBeLessThanOrEqual(24);
  });

  it("says when partitions are not known yet, and colours states when asked", () => {
    const plain = renderLiveView(view({ partitions: undefined }), info, layout);
    expect(plain).toContain("  (not known yet)");
    const colored = renderLiveView(view(), info, { ...layout, color: true });
    expect(colored.join("\n")).toContain("\u001b[32mrunning");
    expect(colored.join("\n")).toContain("\u001b[31mexited SIGKILL");
  });
});
