/**
 * `ehw dev` (what `npm start` runs): Azurite, the emulator, a producer and several `ehw run`
 * workers on this machine, with a live view on a terminal or plain summaries otherwise.
 *
 * Output contract: stdout carries the connection banner, a `pids: name=PID …` line (again
 * whenever the set changes, without a terminal), the summaries and the final summary; progress
 * and errors go to stderr. Exit codes: 0 after quit / Ctrl-C / SIGTERM / `--duration-ms`, 1 when
 * starting failed or a part died (everything started is stopped first), 2 for a bad command line.
 */
import { parseArgs } from "node:util";
import { EhwError } from "../common/errors.js";
import { processEnvironment } from "../config/process.js";
import { otelVariables } from "../config/tracing.js";
import { compileDevOptions, DEV_DEFAULTS, type DevOptions } from "../dev/options.js";
import { runDevSession } from "../dev/session.js";
import { DEV_WORKER_TIMING } from "../dev/worker-args.js";

const USAGE = `usage: ehw dev [options]

Starts a local Event Hubs emulator and Azurite, a producer sending a steady stream of events, and
several worker processes ('ehw run') sharing the hub's partitions. On a terminal it shows a live
view with keys: a adds a worker; s stops one with SIGTERM and k kills one with SIGKILL (type its
number and Enter, or Enter alone for the newest); q or Ctrl-C quits. Otherwise (a pipe, CI) it
prints a summary every --summary-interval-ms.

options:
  --data DIR               data directory: Azurite and emulator state, ledgers, logs
                           (default: a new directory under the OS temp dir; kept after exit)
  --hub NAME               event hub name (default ${DEV_DEFAULTS.hub})
  --partitions N           partitions of the hub (default ${DEV_DEFAULTS.partitions})
  --workers N              workers to start (default ${DEV_DEFAULTS.workers}; 0 = none)
  --rate N                 events per second the producer sends (default ${DEV_DEFAULTS.ratePerSecond}; 0 = no producer)
  --keys N                 partition keys the producer spreads events over (default 4 per partition, at least 32)
  --handler H              worker handler: ledger | log | a module path | a package
                           (default ${DEV_DEFAULTS.handler}, writing <data>/ledger/<worker>.jsonl)
  --checkpoint-every N     completed events between checkpoints (default: the worker's)
  --eventhub-port N        emulator AMQP port (default 0 = any free port)
  --storage-port N         Azurite blob port (default 0 = any free port)
  --summary-interval-ms N  milliseconds between plain summaries (default ${DEV_DEFAULTS.summaryIntervalMs})
  --duration-ms N          quit N milliseconds after everything started (default: run until quit)
  --plain                  plain summaries even on a terminal
  --tracing                workers run with --tracing otlp and the producer traces its batches;
                           the spans go to a receiver of this stack, summarised in the view
                           (spans/s, slowest pipeline, linked to producer, error spans), or, when
                           OTEL_EXPORTER_OTLP_ENDPOINT or ..._TRACES_ENDPOINT is set, there
  --help                   show this help

Workers run with --strategy ${DEV_WORKER_TIMING.strategy} --update-interval-ms ${DEV_WORKER_TIMING.updateIntervalMs} --ownership-expiration-ms ${DEV_WORKER_TIMING.ownershipExpirationMs}
--retry-delay-ms ${DEV_WORKER_TIMING.retryDelayMs}, so a killed worker's partitions move within about ${DEV_WORKER_TIMING.ownershipExpirationMs / 1000 + 2} s.
Their output goes to <data>/logs/<worker>.log. Ctrl-C or SIGTERM stops everything; a second one kills it.`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      data: { type: "string" },
      hub: { type: "string" },
      partitions: { type: "string" },
      workers: { type: "string" },
      rate: { type: "string" },
      keys: { type: "string" },
      handler: { type: "string" },
      "checkpoint-every": { type: "string" },
      "eventhub-port": { type: "string" },
      "storage-port": { type: "string" },
      "summary-interval-ms": { type: "string" },
      "duration-ms": { type: "string" },
      plain: { type: "boolean", default: false },
      tracing: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  }).values;
}

type Flags = ReturnType<typeof parse>;

function compile(flags: Flags): DevOptions {
  return compileDevOptions({
    dataDir: flags.data,
    hub: flags.hub,
    partitions: flags.partitions,
    workers: flags.workers,
    rate: flags.rate,
    keys: flags.keys,
    handler: flags.handler,
    checkpointEvery: flags["checkpoint-every"],
    eventHubPort: flags["eventhub-port"],
    storagePort: flags["storage-port"],
    summaryIntervalMs: flags["summary-interval-ms"],
    durationMs: flags["duration-ms"],
    plain: flags.plain,
    tracing: flags.tracing,
    otelVariables: otelVariables(processEnvironment()),
  });
}

/** SIGINT / SIGTERM: the first stops gracefully, a second one SIGKILLs what is still running. */
function stopSignals(): { quit: AbortController; force: AbortController; remove: () => void } {
  const quit = new AbortController();
  const force = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (quit.signal.aborted) {
      process.stderr.write(`ehw dev: ${signal} again: killing what is still running\n`);
      force.abort();
      return;
    }
    process.stderr.write(`ehw dev: ${signal}: stopping everything (again to kill)\n`);
    quit.abort();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  const remove = () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
  return { quit, force, remove };
}

/** Entry point of `ehw dev`; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let options: DevOptions;
  try {
    const flags = parse(argv);
    if (flags.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    options = compile(flags);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ehw dev: ${message}\n\n${USAGE}\n`);
    return 2;
  }
  const live = !options.plain && process.stdout.isTTY === true && process.stdin.isTTY === true;
  const signals = stopSignals();
  try {
    const code = await runDevSession(options, {
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
      terminal: live ? { output: process.stdout, input: process.stdin } : undefined,
      quit: signals.quit.signal,
      force: signals.force.signal,
    });
    // Every process is stopped; a client library's stray timer must not keep the command open.
    setTimeout(() => process.exit(code), 2000).unref();
    return code;
  } catch (err) {
    if (!(err instanceof EhwError)) throw err;
    process.stderr.write(`ehw dev: ${err.message}\n`);
    return 1;
  } finally {
    signals.remove();
  }
}
