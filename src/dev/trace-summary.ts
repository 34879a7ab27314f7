/**
 * The dev view's trace figures from finished spans, without I/O: spans per second, the slowest
 * span names by p95 and max duration (the slowest pipeline among the workers' attempt spans), and
 * the error spans with the last error's message, and how many attempt spans link to (or are
 * children of) a producer span that arrived too: whole traces. Memory stays bounded.
 */

/** One finished span, as the summary needs it. */
export interface SpanRecord {
  /** Span name, e.g. "default process" for an attempt of pipeline `default`. */
  readonly name: string;
  /** The `ehw.pipeline` attribute: set on the workers' attempt spans only. */
  readonly pipeline?: string;
  /** Start, milliseconds since the epoch. */
  readonly startMs: number;
  /** End, milliseconds since the epoch. */
  readonly endMs: number;
  /** Whether its status is ERROR. */
  readonly error: boolean;
  /** The status message, else the message of its recorded exception. */
  readonly errorMessage?: string;
  /** Its span id (hex). */
  readonly spanId?: string;
  /** Whether it is of kind PRODUCER (a sender's span, e.g. the dev producer's batch span). */
  readonly producer?: boolean;
  /** Span ids of its parent and its links: where a producer's context would be. */
  readonly relatedSpanIds?: readonly string[];
}

/** Options of {@link TraceSummary}. */
export interface TraceSummaryOptions {
  /** Milliseconds of span end times the rate is computed over; default 5000. */
  readonly rateWindowMs?: number;
  /**
   * Milliseconds before now at which the rate window ends, because spans arrive after they end
   * (by up to the workers' export delay); default 1500.
   */
  readonly settleMs?: number;
  /** Milliseconds of span end times the durations are taken over; default 60000. */
  readonly durationWindowMs?: number;
  /** Durations kept per span name (the newest); default 2048. */
  readonly maxDurationsPerName?: number;
  /** Span names tracked separately; later names count under "(other)"; default 100. */
  readonly maxNames?: number;
}

/** Durations of one span name over the duration window. */
export interface SpanNameFigures {
  /** Span name. */
  readonly name: string;
  /** Whether these are attempt spans (they carry `ehw.pipeline`). */
  readonly pipeline: boolean;
  /** Spans of this name in the window. */
  readonly count: number;
  /** 95th percentile duration (nearest rank), milliseconds. */
  readonly p95Ms: number;
  /** Longest duration, milliseconds. */
  readonly maxMs: number;
}

/** The last error span. */
export interface LastErrorSpan {
  /** Its span name. */
  readonly name: string;
  /** Its message; "(no message)" when it had none. */
  readonly message: string;
  /** When it ended, milliseconds since the epoch. */
  readonly endMs: number;
}

/** Attempt spans of the duration window that ended before the settle time, and how many of them link to a received producer span. */
export interface ProducerLinks {
  /** Attempt spans counted. */
  readonly attempts: number;
  /** Those whose parent or a link is a producer span received here. */
  readonly linked: number;
}

/** What the view shows of the traces. */
export interface TraceFigures {
  /** Spans received since the start. */
  readonly received: number;
  /** Spans per second over the rate window; undefined until part of a window has passed. */
  readonly spansPerSecond: number | undefined;
  /** Span names by p95 duration, slowest first. */
  readonly slowest: readonly SpanNameFigures[];
  /** The slowest attempt span name (the slowest pipeline), when any attempt span is known. */
  readonly slowestPipeline: SpanNameFigures | undefined;
  /** Error spans received since the start. */
  readonly errorSpans: number;
  /** The error span that ended last, if any. */
  readonly lastError: LastErrorSpan | undefined;
  /** Attempt spans linked to a producer span; undefined while there are no attempt spans. */
  readonly producerLinks: ProducerLinks | undefined;
}

/** Width of one rate bucket, milliseconds. */
const BUCKET_MS = 100;
/** Producer span ids and attempt spans kept for {@link ProducerLinks}, each at most. */
const MAX_LINK_ENTRIES = 50_000;
/** Where span names past the limit are counted. */
export const OTHER_NAMES = "(other)";

interface Timed {
  endMs: number;
  durationMs: number;
}

interface NameStats {
  pipeline: boolean;
  durations: Timed[];
}

/** 95th percentile by nearest rank; `sorted` ascending and non-empty. */
export function p95(sorted: readonly number[]): number {
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.95) - 1)] as number;
}

/** Accumulates spans; see the module comment. */
export class TraceSummary {
  private readonly rateWindowMs: number;
  private readonly settleMs: number;
  private readonly durationWindowMs: number;
  private readonly maxDurations: number;
  private readonly maxNames: number;
  /** Spans ended per bucket (end time / {@link BUCKET_MS}). */
  private readonly buckets = new Map<number, number>();
  private readonly names = new Map<string, NameStats>();
  private received = 0;
  private errorSpans = 0;
  private lastError: LastErrorSpan | undefined;
  /** Producer span ids received, with their end times. */
  private readonly producerSpans = new Map<string, number>();
  /** The parent and link ids of attempt spans, with their end times. */
  private attempts: Array<{ endMs: number; ids: readonly string[] }> = [];

  /** `startedAtMs`: when spans could first arrive (ms since the epoch); the rate starts there. */
  constructor(
    private readonly startedAtMs: number,
    options: TraceSummaryOptions = {},
  ) {
    this.rateWindowMs = Math.max(BUCKET_MS, options.rateWindowMs ?? 5000);
    this.settleMs = Math.max(0, options.settleMs ?? 1500);
    this.durationWindowMs = Math.max(1, options.durationWindowMs ?? 60_000);
    this.maxDurations = Math.max(1, options.maxDurationsPerName ?? 2048);
    this.maxNames = Math.max(1, options.maxNames ?? 100);
  }

  /** Adds finished spans, in any order. */
  add(spans: readonly SpanRecord[]): void {
    for (const span of spans) {
      this.received++;
      const bucket = Math.floor(span.endMs / BUCKET_MS);
      this.buckets.set(bucket, (this.buckets.get(bucket) ?? 0) + 1);
      this.statsOf(span).durations.push({
        endMs: span.endMs,
        durationMs: Math.max(0, span.endMs - span.startMs),
      });
      if (span.error) this.recordError(span);
      this.recordLinks(span);
    }
    if (this.attempts.length > MAX_LINK_ENTRIES)
      this.attempts.splice(0, this.attempts.length - MAX_LINK_ENTRIES);
    for (const spanId of this.producerSpans.keys()) {
      if (this.producerSpans.size <= MAX_LINK_ENTRIES) break;
      this.producerSpans.delete(spanId);
    }
    for (const stats of this.names.values()) {
      if (stats.durations.length > this.maxDurations)
        stats.durations.splice(0, stats.durations.length - this.maxDurations);
    }
  }

  private statsOf(span: SpanRecord): NameStats {
    const pipeline = span.pipeline !== undefined;
    let name = span.name;
    if (!this.names.has(name) && this.names.size >= this.maxNames) name = OTHER_NAMES;
    let stats = this.names.get(name);
    if (stats === undefined) {
      stats = { pipeline: pipeline && name !== OTHER_NAMES, durations: [] };
      this.names.set(name, stats);
    }
    return stats;
  }

  private recordLinks(span: SpanRecord): void {
    if (span.producer === true && span.spanId !== undefined) this.producerSpans.set(span.spanId, span.endMs);
    if (span.pipeline !== undefined)
      this.attempts.push({ endMs: span.endMs, ids: span.relatedSpanIds ?? [] });
  }

  private producerLinks(nowMs: number): ProducerLinks | undefined {
    // A producer span may arrive after the attempt it caused: count settled attempts only.
    const settled = this.attempts.filter((a) => a.endMs <= nowMs - this.settleMs);
    if (settled.length === 0) return undefined;
    const linked = settled.filter((a) => a.ids.some((id) => this.producerSpans.has(id))).length;
    return { attempts: settled.length, linked };
  }

  private recordError(span: SpanRecord): void {
    this.errorSpans++;
    if (this.lastError !== undefined && this.lastError.endMs > span.endMs) return;
    const message = span.errorMessage?.trim();
    this.lastError = {
      name: span.name,
      message: message === undefined || message === "" ? "(no message)" : message,
      endMs: span.endMs,
    };
  }

  /** The figures at `nowMs` (ms since the epoch); drops what is older than both windows. */
  figures(nowMs: number): TraceFigures {
    this.prune(nowMs);
    const slowest = [...this.names.entries()]
      .map(([name, stats]) => nameFigures(name, stats, nowMs - this.durationWindowMs))
      .filter((f): f is SpanNameFigures => f !== undefined)
      .sort((a, b) => b.p95Ms - a.p95Ms || b.maxMs - a.maxMs || (a.name < b.name ? -1 : 1));
    return {
      received: this.received,
      spansPerSecond: this.rate(nowMs),
      slowest,
      slowestPipeline: slowest.find((f) => f.pipeline),
      errorSpans: this.errorSpans,
      lastError: this.lastError,
      producerLinks: this.producerLinks(nowMs),
    };
  }

  private rate(nowMs: number): number | undefined {
    const to = nowMs - this.settleMs;
    const from = Math.max(to - this.rateWindowMs, this.startedAtMs);
    if (to - from < BUCKET_MS) return undefined;
    let count = 0;
    for (const [bucket, n] of this.buckets) {
      const at = bucket * BUCKET_MS;
      if (at >= from && at < to) count += n;
    }
    return (count * 1000) / (to - from);
  }

  private prune(nowMs: number): void {
    const oldestBucket = Math.floor((nowMs - this.settleMs - this.rateWindowMs) / BUCKET_MS) - 1;
    for (const bucket of this.buckets.keys()) if (bucket < oldestBucket) this.buckets.delete(bucket);
    const oldest = nowMs - this.durationWindowMs;
    for (const [name, stats] of this.names) {
      stats.durations = stats.durations.filter((d) => d.endMs >= oldest);
      if (stats.durations.length === 0) this.names.delete(name);
    }
    this.attempts = this.attempts.filter((a) => a.endMs >= oldest);
    // A producer span stays as long as an attempt it caused may (an event can wait in the hub).
    for (const [spanId, endMs] of this.producerSpans) {
      if (endMs < oldest - this.durationWindowMs) this.producerSpans.delete(spanId);
    }
  }
}

function nameFigures(name: string, stats: NameStats, fromMs: number): SpanNameFigures | undefined {
  const durations = stats.durations
    .filter((d) => d.endMs >= fromMs)
    .map((d) => d.durationMs)
    .sort((a, b) => a - b);
  if (durations.length === 0) return undefined;
  return {
    name,
    pipeline: stats.pipeline,
    count: durations.length,
    p95Ms: p95(durations),
    maxMs: durations[durations.length - 1] as number,
  };
}
