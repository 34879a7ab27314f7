/**
 * Text of the dev view's traces part, without I/O: spans per second, the slowest pipeline and
 * span names by p95 and max duration, and the error spans with the last message — or, when the
 * workers export to a collector, where to look instead.
 */
import type { SpanNameFigures, TraceFigures } from "./trace-summary.js";
import type { TracesSnapshot } from "./view-model.js";

/** Span-name rows the live view shows at most. */
export const MAX_SPAN_ROWS = 3;

/** A duration: "0.42 ms", "12.3 ms", "250 ms", "1.25 s"; "-" when unknown. */
export function formatDurationMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "-";
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

function rate(value: number | undefined): string {
  return value === undefined ? "-" : value < 100 ? value.toFixed(1) : String(Math.round(value));
}

function durations(f: SpanNameFigures): string {
  return `p95 ${formatDurationMs(f.p95Ms)}, max ${formatDurationMs(f.maxMs)}`;
}

/** `12 s ago: default process: db down`, the last error span; undefined when there is none. */
export function lastErrorText(figures: TraceFigures, nowMs: number): string | undefined {
  const last = figures.lastError;
  if (last === undefined) return undefined;
  const ago = Math.max(0, Math.round((nowMs - last.endMs) / 1000));
  return `${ago} s ago: ${last.name}: ${last.message}`;
}

/** The traces as one line, after the word "traces" (plain summary; head of the live view's part). */
export function tracesLine(traces: TracesSnapshot): string {
  const figures = traces.figures;
  if (!traces.local || figures === undefined) {
    return `exported to ${traces.destination} (the OTEL_* variables' collector; no summary here)`;
  }
  const slowest = figures.slowestPipeline;
  const last = lastErrorText(figures, traces.atMs);
  const links = figures.producerLinks;
  return [
    `${rate(figures.spansPerSecond)} spans/s (${figures.received} received)`,
    slowest === undefined ? "slowest pipeline -" : `slowest pipeline ${slowest.name} ${durations(slowest)}`,
    `linked to producer ${links === undefined ? "-" : `${Math.floor((100 * links.linked) / links.attempts)}%`}`,
    `error spans ${figures.errorSpans}${last === undefined ? "" : ` (last ${last})`}`,
  ].join(" · ");
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text.padEnd(width);
}

/**
 * The live view's part: the summary line, then the slowest span names (pipelines marked) over
 * the last minute, at most {@link MAX_SPAN_ROWS}.
 */
export function tracesLines(traces: TracesSnapshot): string[] {
  const lines = [`traces     ${tracesLine(traces)}`];
  const figures = traces.figures;
  if (!traces.local || figures === undefined) return lines;
  lines.push(`  ${pad("slowest spans (last minute)", 40)}${pad("spans", 9)}${pad("p95", 11)}max`);
  if (figures.slowest.length === 0) lines.push("  (none received yet)");
  for (const f of figures.slowest.slice(0, MAX_SPAN_ROWS)) {
    const name = f.pipeline ? `${f.name} (pipeline)` : f.name;
    lines.push(
      `  ${pad(name, 40)}${pad(String(f.count), 9)}${pad(formatDurationMs(f.p95Ms), 11)}${formatDurationMs(f.maxMs)}`,
    );
  }
  return lines;
}
