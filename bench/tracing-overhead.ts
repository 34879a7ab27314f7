/**
 * Cost of tracing on one PartitionProcessor alone (bench/lib/processor-bench.ts: no network, a
 * checkpoint writer that stores nothing, a no-op handler), in four configurations run in every
 * round, in an order that rotates from round to round:
 * - none: no tracer option at all — the processor as it was built before tracing existed;
 * - off: `tracer: undefined`, as the worker's partition set passes it with `--tracing off`; the
 *   partition then picks plain attempts once, so no tracing code runs per event;
 * - unsampled: a tracer whose spans are all non-recording (the OpenTelemetry API with no SDK behind
 *   it): the tracing code path per attempt with nothing recorded;
 * - sdk: `--tracing otlp` with the real SDK and a span processor that drops spans (the cost before
 *   the exporter's own work).
 *
 * Run: npx tsx bench/tracing-overhead.ts [events=200000] [rounds=7]
 *
 * Reports per round events per second and CPU time per event, then for each configuration its
 * ratios to `none` of the same round: median and range over the rounds, of throughput and of CPU
 * per event. off/none is the must-show "tracing off costs nothing measurable": its range is the
 * noise of the machine. CPU per event is the steadier figure on a shared machine.
 */
import { ProxyTracerProvider } from "@opentelemetry/api";
import { createAttemptTracer } from "../src/observability/tracing.js";
import { startTracingSdk } from "../src/observability/tracing-sdk.js";
import { wholeNumber } from "./lib/args.js";
import {
  describeMeasured,
  describeSpread,
  drainProcessor,
  type Measured,
  type PairedRatios,
  PROCESSOR_BATCH,
  type ProcessorAddition,
  pairedRatios,
} from "./lib/processor-bench.js";
import { printFigures, printTable, round } from "./lib/report.js";
import { roundOrder } from "./lib/stats.js";

const args = process.argv.slice(2);
const EVENTS = wholeNumber(args[0] ?? "200000", "events");
const ROUNDS = wholeNumber(args[1] ?? "7", "rounds");

async function configurations(): Promise<{
  configs: Record<string, ProcessorAddition>;
  stop(): Promise<void>;
}> {
  // A provider of its own that is never given a delegate: its tracer stays the no-op one even
  // after the SDK registers globally.
  const unsampled = createAttemptTracer({ tracer: new ProxyTracerProvider().getTracer("bench") });
  const drop = {
    export: (_spans: unknown, done: (r: { code: number }) => void) => done({ code: 0 }),
    shutdown: async () => {},
  };
  const sdk = await startTracingSdk({
    serviceName: "bench",
    tracesUrl: "http://127.0.0.1:1/v1/traces",
    headers: {},
    sampler: "always_on",
    samplerRatio: 1,
    azureSdk: false,
    exportDelayMs: 5000,
    exporter: drop,
  });
  const configs: Record<string, ProcessorAddition> = {
    none: {},
    off: { options: { tracer: undefined } },
    unsampled: { options: { tracer: unsampled } },
    sdk: { options: { tracer: createAttemptTracer({ tracer: sdk.tracer }) } },
  };
  return { configs, stop: () => sdk.shutdown() };
}

async function main(): Promise<void> {
  const { configs, stop } = await configurations();
  const names = Object.keys(configs);
  console.log(`${EVENTS} events per run, batches of ${PROCESSOR_BATCH}, no-op handler, ${ROUNDS} rounds`);
  // One unreported pass first: JIT warm-up would otherwise count against whichever runs first.
  for (const name of names) await drainProcessor(EVENTS, configs[name]);
  const runs: Record<string, Measured[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 1; r <= ROUNDS; r++) {
    const measured: string[] = [];
    for (const name of roundOrder(names, r)) {
      const m = await drainProcessor(EVENTS, configs[name]);
      runs[name]?.push(m);
      measured.push(`${name} ${describeMeasured(m)}`);
    }
    console.log(`r${r} ${measured.join("; ")}`);
  }
  await stop();
  const baseline = runs.none ?? [];
  const ratios: Record<string, PairedRatios> = {};
  for (const name of names.filter((n) => n !== "none")) {
    ratios[name] = pairedRatios(baseline.map((b, i) => [b, runs[name]?.[i] ?? b] as const));
  }
  printTable(
    Object.entries(ratios).map(([name, r]) => ({
      "vs none": name,
      "throughput ratio (range)": describeSpread(r.rate),
      "CPU/event ratio (range)": describeSpread(r.cpu),
    })),
  );
  const figure = (r: PairedRatios) => ({
    rateMedian: round(r.rate.median, 3),
    rateMin: round(r.rate.min, 3),
    rateMax: round(r.rate.max, 3),
    cpuMedian: round(r.cpu.median, 3),
    cpuMin: round(r.cpu.min, 3),
    cpuMax: round(r.cpu.max, 3),
  });
  printFigures("tracing-overhead", {
    events: EVENTS,
    rounds: ROUNDS,
    ...Object.fromEntries(Object.entries(ratios).map(([name, r]) => [`${name}VsNone`, figure(r)])),
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
