/**
 * Building blocks of metrics computed at scrape time: histograms kept as plain numbers, and a metric
 * object that prom-client's registry formats like its own but whose samples come from a callback.
 */

/** Upper bounds of the handler duration buckets, seconds. */
export const HANDLER_DURATION_BUCKETS_S = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;
/** Upper bounds of the checkpoint write duration buckets, seconds. */
export const CHECKPOINT_DURATION_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** A histogram kept as plain numbers: a count per bucket (not cumulative), a sum and a count. */
export class DurationHistogram {
  /** Observations per bucket; the last slot is above every bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Adds one observation (seconds). */
  observe(value: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count += 1;
  }
}

/** One sample of a collected metric, as prom-client's registry formats it. */
export interface Sample {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

export type MetricType = "counter" | "gauge" | "histogram";

/**
 * A metric whose samples are computed at scrape time. prom-client's registry accepts any object
 * with `name` and `get()`; its own classes would need a label lookup per observation.
 */
export class CollectedMetric {
  readonly aggregator = "sum";

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    private readonly samples: () => Sample[],
  ) {}

  async get(): Promise<{
    name: string;
    help: string;
    type: MetricType;
    values: Sample[];
    aggregator: string;
  }> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.samples(),
      aggregator: this.aggregator,
    };
  }

  /** Called by `registry.resetMetrics()`; the numbers belong to the runtime, so nothing to do. */
  reset(): void {}
}

/** The samples of one histogram, cumulative per bucket as the text format wants them. */
export function histogramSamples(
  name: string,
  histogram: DurationHistogram,
  labels: Record<string, string> = {},
): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i <= histogram.bounds.length; i++) {
    cumulative += histogram.counts[i] as number;
    const le = i < histogram.bounds.length ? (histogram.bounds[i] as number) : "+Inf";
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
  }
  out.push({ metricName: `${name}_sum`, labels, value: histogram.sum });
  out.push({ metricName: `${name}_count`, labels, value: histogram.count });
  return out;
}
