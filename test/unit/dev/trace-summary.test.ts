import { describe, expect, it } from "vitest";
import { nanosToMs, spansOfOtlpJson } from "../../../src/dev/otlp-json.js";
import { OTHER_NAMES, p95, type SpanRecord, TraceSummary } from "../../../src/dev/trace-summary.js";

const T0 = 1_800_000_000_000;

function span(name: string, endMs: number, durationMs: number, extra: Partial<SpanRecord> = {}): SpanRecord {
  return { name, startMs: endMs - durationMs, endMs, error: false, ...extra };
}

describe("trace summary", () => {
  it("counts spans per second over the settled window of end times", () => {
    const summary = new TraceSummary(T0, { rateWindowMs: 5000, settleMs: 1000 });
    // 10 spans in each of the seconds 0-9 after T0, and 50 in the unsettled last second.
    const spans: SpanRecord[] = [];
    for (let s = 0; s < 10; s++)
      for (let i = 0; i < 10; i++) spans.push(span("a", T0 + s * 1000 + i * 100, 1));
    for (let i = 0; i < 50; i++) spans.push(span("a", T0 + 10_000 + i * 10, 1));
    summary.add(spans);
    const figures = summary.figures(T0 + 11_000);
    // Window [T0+5000, T0+10000): seconds 5-9, 50 spans over 5 s.
    expect(figures.spansPerSecond).toBeCloseTo(10, 5);
    expect(figures.received).toBe(150);
  });

  it("does not count the time before its start, and says 'not known' before any of it passed", () => {
    const summary = new TraceSummary(T0, { rateWindowMs: 5000, settleMs: 1000 });
    expect(summary.figures(T0 + 500).spansPerSecond).toBeUndefined();
    summary.add([span("a", T0 + 100, 1), span("a", T0 + 900, 1)]);
    // Window [T0, T0+2000): 2 spans over 2 s, not over 5.
    expect(summary.figures(T0 + 3000).spansPerSecond).toBeCloseTo(1, 5);
    expect(new TraceSummary(T0).figures(T0 + 10_000).spansPerSecond).toBe(0);
  });

  it("ranks span names by p95 and names the slowest pipeline among attempt spans", () => {
    const summary = new TraceSummary(T0);
    const spans: SpanRecord[] = [];
    // Pipeline "orders": 1..100 ms; pipeline "audit": 1..20 ms; a blob write span slower than both.
    for (let i = 1; i <= 100; i++) spans.push(span("orders process", T0 + i, i, { pipeline: "orders" }));
    for (let i = 1; i <= 20; i++) spans.push(span("audit process", T0 + i, i, { pipeline: "audit" }));
    spans.push(span("BlockBlobClient-upload", T0 + 50, 400));
    summary.add(spans);
    const figures = summary.figures(T0 + 2000);
    expect(figures.slowest.map((f) => f.name)).toEqual([
      "BlockBlobClient-upload",
      "orders process",
      "audit process",
    ]);
    expect(figures.slowestPipeline).toEqual({
      name: "orders process",
      pipeline: true,
      count: 100,
      p95Ms: 95,
      maxMs: 100,
    });
    expect(figures.slowest.find((f) => f.name === "audit process")).toMatchObject({ p95Ms: 19, maxMs: 20 });
  });

  it("forgets durations older than the window and keeps at most the newest per name", () => {
    const summary = new TraceSummary(T0, { durationWindowMs: 10_000, maxDurationsPerName: 3 });
    summary.add([span("p process", T0, 900, { pipeline: "p" })]);
    summary.add([1, 2, 3, 4].map((d) => span("p process", T0 + 8000 + d, d, { pipeline: "p" })));
    expect(summary.figures(T0 + 9000).slowestPipeline).toMatchObject({ count: 3, maxMs: 4 });
    expect(summary.figures(T0 + 30_000).slowest).toEqual([]);
  });

  it("counts error spans and keeps the message of the one that ended last", () => {
    const summary = new TraceSummary(T0);
    summary.add([
      span("p process", T0 + 300, 5, { pipeline: "p", error: true, errorMessage: "later" }),
      span("p process", T0 + 100, 5, { pipeline: "p", error: true, errorMessage: "earlier" }),
      span("p process", T0 + 200, 5, { pipeline: "p" }),
    ]);
    summary.add([span("db query", T0 + 250, 5, { error: true })]);
    const figures = summary.figures(T0 + 1000);
    expect(figures.errorSpans).toBe(3);
    expect(figures.lastError).toEqual({ name: "p process", message: "later", endMs: T0 + 300 });
    summary.add([span("db query", T0 + 400, 5, { error: true })]);
    expect(summary.figures(T0 + 1000).lastError?.message).toBe("(no message)");
  });

  it("counts the settled attempt spans linked to, or children of, a producer span received", () => {
    const summary = new TraceSummary(T0, { settleMs: 1000 });
    const attempt = (endMs: number, relatedSpanIds?: string[]) =>
      span("p process", endMs, 1, { pipeline: "p", ...(relatedSpanIds ? { relatedSpanIds } : {}) });
    expect(summary.figures(T0 + 5000).producerLinks).toBeUndefined();
    summary.add([
      attempt(T0 + 100, ["aa01"]), // linked to a producer span that arrives later
      attempt(T0 + 200, ["bb02"]), // child of one (the parent id is listed too)
      attempt(T0 + 300, ["cc03"]), // its producer span never arrives
      attempt(T0 + 400), // no producer context at all
      attempt(T0 + 4500, ["aa01"]), // not settled yet at T0+5000
      span("other", T0 + 50, 1, { spanId: "cc03" }), // not a PRODUCER span
    ]);
    summary.add([
      span("orders send", T0 + 90, 5, { producer: true, spanId: "aa01" }),
      span("orders send", T0 + 95, 5, { producer: true, spanId: "bb02" }),
    ]);
    expect(summary.figures(T0 + 5000).producerLinks).toEqual({ attempts: 4, linked: 2 });
    expect(summary.figures(T0 + 6000).producerLinks).toEqual({ attempts: 5, linked: 3 });
  });

  it("counts names past the limit under one entry", () => {
    const summary = new TraceSummary(T0, { maxNames: 2 });
    summary.add(["a", "b", "c", "d"].map((n) => span(n, T0 + 10, 1)));
    expect(
      summary
        .figures(T0 + 100)
        .slowest.map((f) => f.name)
        .sort(),
    ).toEqual([OTHER_NAMES, "a", "b"]);
  });

  it("takes p95 by nearest rank", () => {
    expect(p95([7])).toBe(7);
    expect(p95(Array.from({ length: 20 }, (_, i) => i + 1))).toBe(19);
  });
});

describe("OTLP/HTTP JSON trace requests", () => {
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "eventhub-worker" } }] },
        scopeSpans: [
          {
            scope: { name: "eventhub-worker" },
            spans: [
              {
                name: "orders process",
                startTimeUnixNano: "1800000000000000000",
                endTimeUnixNano: "1800000000012500000",
                attributes: [{ key: "ehw.pipeline", value: { stringValue: "orders" } }],
                status: { code: 2 },
                events: [
                  {
                    name: "exception",
                    attributes: [{ key: "exception.message", value: { stringValue: "db down" } }],
                  },
                ],
              },
              {
                name: "orders send",
                spanId: "00f067aa0ba902b7",
                kind: 4,
                startTimeUnixNano: "1800000000000000000",
                endTimeUnixNano: "1800000000001000000",
              },
              {
                name: "GET",
                spanId: "11f067aa0ba902b7",
                parentSpanId: "22f067aa0ba902b7",
                kind: 3,
                links: [{ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }, {}],
                startTimeUnixNano: 1.8e18,
                endTimeUnixNano: 1.8e18 + 3e6,
                status: { code: "STATUS_CODE_ERROR", message: "503" },
              },
              { name: "no times" },
            ],
          },
        ],
      },
    ],
  };

  it("become span records with durations, pipeline and error message", () => {
    expect(spansOfOtlpJson(body)).toEqual([
      {
        name: "orders process",
        pipeline: "orders",
        startMs: 1_800_000_000_000,
        endMs: 1_800_000_000_012.5,
        error: true,
        errorMessage: "db down",
      },
      {
        name: "orders send",
        spanId: "00f067aa0ba902b7",
        producer: true,
        startMs: 1.8e12,
        endMs: 1.8e12 + 1,
        error: false,
      },
      {
        name: "GET",
        spanId: "11f067aa0ba902b7",
        relatedSpanIds: ["22f067aa0ba902b7", "00f067aa0ba902b7"],
        startMs: 1.8e12,
        endMs: 1.8e12 + 3,
        error: true,
        errorMessage: "503",
      },
    ]);
    expect(spansOfOtlpJson({})).toEqual([]);
    expect(nanosToMs("1500000")).toBe(1.5);
    expect(nanosToMs("x")).toBeUndefined();
  });

  it.each([
    [[], /JSON object with resourceSpans/],
    [{ resourceSpans: {} }, /resourceSpans must be an array/],
    [
      { resourceSpans: [{ scopeSpans: [{ spans: [7] }] }] },
      /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\] must be an object/,
    ],
  ])("refuse %j, saying what was expected", (bad, pattern) => {
    expect(() => spansOfOtlpJson(bad)).toThrow(pattern);
  });
});
