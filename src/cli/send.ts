/**
 * `ehw send`: the load generator. Sends `--count` generated events to a hub in batches filled to
 * the size limit, optionally rate limited, by partition key or to one partition.
 *
 * Output contract: stdout carries only the final summary (one JSON line with `--json`); progress
 * (at most once a second) and errors go to stderr. Exit codes: 0 all sent, 1 an error (unreachable
 * or unknown hub, key or token refused, send failure), 2 a usage error (unknown flag, a flag without
 * its value, a bad or missing value), 130 stopped by Ctrl-C / SIGTERM after the batches in flight.
 *
 * With `--tracing otlp` every batch has a producer span, exported over OTLP/HTTP as the OTEL_*
 * variables say, and each event carries its context (`traceparent`, `Diagnostic-Id`), so that the
 * workers' attempt spans link to it.
 */
import { ConfigError, EhwError } from "../common/errors.js";
import {
  compileSendTracing,
  readRawSendOptions,
  SEND_CONNECTION_STRING_ENV,
  SEND_HUB_ENV,
} from "../config/send.js";
import type { TracingConfig } from "../config/tracing.js";
import { redactSecrets } from "../observability/logger.js";
import { checkTarget, createProducerClient, sendFailure } from "../producer/client.js";
import { compileSendOptions, SEND_DEFAULTS, type SendOptions } from "../producer/options.js";
import { type SendProgress, type SendSummary, sendEvents } from "../producer/send-loop.js";
import { type BatchTracer, createBatchTracer } from "../producer/send-tracing.js";

/** Env var of the connection string (the flag wins). */
export const CONNECTION_STRING_ENV = SEND_CONNECTION_STRING_ENV;
/** Env var of the hub name (the flag wins). */
export const HUB_ENV = SEND_HUB_ENV;
/** Exit code of a usage error (unknown flag, bad or missing value), as for every `ehw` command. */
const EXIT_USAGE = 2;
/** Exit code after an interruption, as shells report death by SIGINT. */
const EXIT_INTERRUPTED = 130;
/** Least time between two progress lines, ms. */
const PROGRESS_INTERVAL_MS = 1000;

const USAGE = `usage: ehw send [options]

Sends generated events to an event hub. Every event carries the application properties
'id' (an integer, increasing by one per event) and 'type'.

options:
  --connection-string CS   Event Hubs connection string (env ${CONNECTION_STRING_ENV})
  --hub NAME               event hub name (env ${HUB_ENV}; default: EntityPath of the connection string)
  --count N                events to send (default ${SEND_DEFAULTS.count})
  --rate N                 events per second, token bucket (default unlimited)
  --body-size BYTES        body size of every event (default ${SEND_DEFAULTS.bodySize})
  --keys K                 spread events over partition keys key-0 … key-{K-1}, id mod K
                           (default none: the service spreads batches over partitions)
  --partition ID           send every event to this partition (excludes --keys)
  --id-start N             id of the first event (default ${SEND_DEFAULTS.idStart})
  --type TYPE              'type' property of every event (default ${SEND_DEFAULTS.type})
  --concurrency N          batches in flight (default ${SEND_DEFAULTS.concurrency}; with --keys at most one per key)
  --tracing otlp|off       a producer span per batch, exported over OTLP/HTTP as the OTEL_* variables
                           say; each event carries its traceparent and Diagnostic-Id (env EHW_TRACING;
                           default off)
  --json                   print the final summary as one JSON line
  --help                   show this help

Ctrl-C stops after the batches in flight and prints what was sent.`;

function idRange(s: SendProgress): string {
  return s.firstId === undefined ? "no ids" : `ids ${s.firstId}..${s.lastId}`;
}

function printSummary(summary: SendSummary, options: SendOptions, json: boolean): void {
  const round = (n: number, digits: number) => Number(n.toFixed(digits));
  if (json) {
    const line = {
      hub: options.hub,
      sent: summary.sent,
      batches: summary.batches,
      seconds: round(summary.seconds, 3),
      eventsPerSecond: round(summary.eventsPerSecond, 1),
      firstId: summary.firstId ?? null,
      lastId: summary.lastId ?? null,
      interrupted: summary.interrupted,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    return;
  }
  const rate = Math.round(summary.eventsPerSecond);
  const stopped = summary.interrupted ? " (interrupted)" : "";
  console.log(
    `sent ${summary.sent} events in ${summary.batches} batches to '${options.hub}' in ${summary.seconds.toFixed(2)} s (${rate} events/s), ${idRange(summary)}${stopped}`,
  );
}

/** Ctrl-C / SIGTERM: the first stops after the batches in flight, a second one quits at once. */
function onStopSignals(stop: AbortController): () => void {
  const handler = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(EXIT_INTERRUPTED);
    console.error(`ehw send: ${signal}: stopping after the batches in flight (again to quit now)`);
    stop.abort();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/** Prints progress to stderr once a second while the run lasts. */
function startProgress(progress: SendProgress, count: number): NodeJS.Timeout {
  const startedAt = performance.now();
  return setInterval(() => {
    const seconds = (performance.now() - startedAt) / 1000;
    console.error(
      `ehw send: ${progress.sent}/${count} sent (${Math.round(progress.sent / seconds)} events/s)`,
    );
  }, PROGRESS_INTERVAL_MS);
}

/** The tracing SDK and the batch tracer with `--tracing otlp`; undefined when off. */
async function startTracing(
  tracing: TracingConfig,
  hub: string,
): Promise<{ tracer: BatchTracer; shutdown(): Promise<void> } | undefined> {
  if (tracing.mode === "off") return undefined;
  const { startTracingSdk } = await import("../observability/tracing-sdk.js");
  const sdk = await startTracingSdk({ ...tracing, azureSdk: true });
  console.error(`ehw send: tracing on: exporting spans to ${tracing.tracesUrl}`);
  return { tracer: createBatchTracer(sdk.tracer, hub), shutdown: () => sdk.shutdown() };
}

async function run(options: SendOptions, json: boolean, tracingConfig: TracingConfig): Promise<number> {
  const client = createProducerClient(options);
  const stop = new AbortController();
  const removeSignals = onStopSignals(stop);
  const progress: SendProgress = { sent: 0, batches: 0, firstId: undefined, lastId: undefined };
  let ticker: NodeJS.Timeout | undefined;
  let tracing: Awaited<ReturnType<typeof startTracing>>;
  try {
    tracing = await startTracing(tracingConfig, options.hub);
    await checkTarget(client, options);
    ticker = startProgress(progress, options.count);
    const control = { signal: stop.signal, progress, tracer: tracing?.tracer };
    const summary = await sendEvents(client, options, control).catch((err: unknown) => {
      throw sendFailure(err, "send to", options);
    });
    printSummary(summary, options, json);
    return summary.interrupted ? EXIT_INTERRUPTED : 0;
  } catch (err) {
    if (progress.sent > 0)
      console.error(`ehw send: sent ${progress.sent} events before the failure, ${idRange(progress)}`);
    throw err;
  } finally {
    clearInterval(ticker);
    removeSignals();
    await client.close().catch(() => undefined);
    // Exports the spans still buffered; an unreachable collector must not change the exit code.
    await tracing?.shutdown().catch(() => undefined);
  }
}

/** Entry point of `ehw send`; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let read: ReturnType<typeof readRawSendOptions>;
  try {
    read = readRawSendOptions(argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`ehw send: ${redactSecrets(err.message)}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (read.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    return await run(compileSendOptions(read.raw), read.json, compileSendTracing(read.tracing));
  } catch (err) {
    if (!(err instanceof EhwError)) throw err;
    console.error(`ehw send: ${redactSecrets(err.message)}`);
    // A bad value (also one found against the hub, such as --partition) is a usage error.
    return err instanceof ConfigError ? EXIT_USAGE : 1;
  }
}
