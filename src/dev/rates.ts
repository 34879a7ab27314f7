/**
 * Events per second from counter samples, without I/O. Counters may restart (a worker's
 * per-partition `processed` starts again when a partition moves), so only increases count.
 */

/** A counter's value at a time. */
export interface CounterSample {
  /** Milliseconds on any monotonic clock. */
  atMs: number;
  /** Counter value. */
  value: number;
}

/**
 * Events per second over the samples (oldest first): the sum of the increases between neighbours
 * divided by the time from the first to the last. Undefined with fewer than two samples or no
 * time between them, so that "not known yet" is not shown as 0.
 */
export function eventsPerSecond(samples: readonly CounterSample[]): number | undefined {
  if (samples.length < 2) return undefined;
  const first = samples[0] as CounterSample;
  const last = samples[samples.length - 1] as CounterSample;
  const spanMs = last.atMs - first.atMs;
  if (spanMs <= 0) return undefined;
  let increase = 0;
  for (let i = 1; i < samples.length; i++) {
    const delta = (samples[i] as CounterSample).value - (samples[i - 1] as CounterSample).value;
    if (delta > 0) increase += delta;
  }
  return (increase * 1000) / spanMs;
}

/** Options of {@link RateMeter}. */
export interface RateMeterOptions {
  /** Milliseconds of history the rate is computed over; default 5000. */
  windowMs?: number;
}

/** Keeps a sliding window of samples of one counter and reports its rate. */
export class RateMeter {
  private readonly windowMs: number;
  private samples: CounterSample[] = [];

  constructor(options: RateMeterOptions = {}) {
    this.windowMs = Math.max(1, options.windowMs ?? 5000);
  }

  /** Adds a sample; drops samples older than the window but keeps one at or before its start. */
  record(atMs: number, value: number): void {
    this.samples.push({ atMs, value });
    const start = atMs - this.windowMs;
    let drop = 0;
    while (drop + 1 < this.samples.length && (this.samples[drop + 1] as CounterSample).atMs <= start) drop++;
    if (drop > 0) this.samples = this.samples.slice(drop);
  }

  /** Events per second over the window; undefined until two samples are known. */
  perSecond(): number | undefined {
    return eventsPerSecond(this.samples);
  }

  /** The last recorded value, if any. */
  latest(): number | undefined {
    return this.samples.at(-1)?.value;
  }
}
