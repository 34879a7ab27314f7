/**
 * `ehw drill`: a seeded, scripted crash-recovery rehearsal with a verdict (see src/drill).
 *
 * Output contract: stdout carries the Markdown summary; the drill's own log lines (JSON) and
 * errors go to stderr. Exit codes: 0 every invariant held; 1 an invariant failed (named on
 * stderr) or the drill could not run; 2 an invalid option; 130 stopped by Ctrl-C / SIGTERM.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../common/errors.js";
import {
  compileDrillOptions,
  type RawDrillOptions,
  WORKER_PASSTHROUGH_FLAGS,
  type WorkerFlag,
} from "../drill/options.js";
import { renderMarkdown } from "../drill/report/index.js";
import { runDrill } from "../drill/run-drill.js";
import { createLogger } from "../observability/logger.js";

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

const USAGE = `usage: ehw drill [options]

Starts Azurite and the emulator (persistent), a hub, W workers ('ehw run' with the ledger
handler), sends E events with ids while injecting faults on a seeded schedule, waits until every
checkpoint reached the last event, stops everything, and judges: no id lost, duplicates within
the bound per hand-over (none after SIGTERM), checkpoints never backwards, key order held,
caught up. Writes report.json, report.md and timeline.svg to --out.

scenario:
  --seed N                 seed of the schedule and the victim picks (default: the time)
  --workers W              workers at the start (default 3)
  --partitions P           partitions of the hub (default 8)
  --events E               events to send (default 50000)
  --keys K                 partition keys key-0 … key-{K-1} (default 64; 0 = none)
  --rate N                 events per second (default: spread over the fault schedule)
faults:
  --kill N                 kill -9 a random worker and start a new one, N times
  --term N                 SIGTERM a random worker, start a new one once it exited, N times
  --add N                  start one more worker, N times
  --restart-storage        stop and start Azurite once
  --restart-hub            stop and start the emulator once
  --detach N               force-detach every reader of the hub, N times
  --first-fault-ms MS      from the start of sending to the first fault (default 5000)
  --fault-spacing-ms MS    between faults (default: expiry + 2 × update interval + 2 s)
run:
  --catch-up-timeout-ms MS wait this long for every checkpoint to reach the end (default 120000)
  --sample-interval-ms MS  checkpoint and ownership sampling (default 500)
  --out DIR                report directory (default ./drill-report)
  --data-dir DIR           keep the stack's data here (default: a temporary directory, removed)
  --log-level LEVEL        the drill's own log on stderr (default warn)
worker settings, passed to every 'ehw run' (drill defaults in brackets):
${Object.entries(WORKER_PASSTHROUGH_FLAGS)
  .map(([flag, value]) => `  ${flag}${value === undefined ? "" : ` [${value}]`}`)
  .join("\n")}`;

function parse(argv: string[]) {
  const workerOptions = Object.fromEntries(
    Object.keys(WORKER_PASSTHROUGH_FLAGS).map((flag) => [flag.slice(2), { type: "string" as const }]),
  );
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: "boolean", short: "h" },
      seed: { type: "string" },
      workers: { type: "string" },
      partitions: { type: "string" },
      events: { type: "string" },
      keys: { type: "string" },
      rate: { type: "string" },
      kill: { type: "string" },
      term: { type: "string" },
      add: { type: "string" },
      "restart-storage": { type: "boolean" },
      "restart-hub": { type: "boolean" },
      detach: { type: "string" },
      "first-fault-ms": { type: "string" },
      "fault-spacing-ms": { type: "string" },
      "catch-up-timeout-ms": { type: "string" },
      "sample-interval-ms": { type: "string" },
      out: { type: "string" },
      "data-dir": { type: "string" },
      "log-level": { type: "string" },
      ...workerOptions,
    },
  });
}

function rawOptions(values: Record<string, string | boolean | undefined>): RawDrillOptions {
  const str = (name: string) => values[name] as string | undefined;
  const workerFlags: Partial<Record<WorkerFlag, string>> = {};
  for (const flag of Object.keys(WORKER_PASSTHROUGH_FLAGS) as WorkerFlag[]) {
    const value = str(flag.slice(2));
    if (value !== undefined) workerFlags[flag] = value;
  }
  return {
    seed: str("seed"),
    workers: str("workers"),
    partitions: str("partitions"),
    events: str("events"),
    keys: str("keys"),
    rate: str("rate"),
    kill: str("kill"),
    term: str("term"),
    add: str("add"),
    restartStorage: values["restart-storage"] === true,
    restartHub: values["restart-hub"] === true,
    detach: str("detach"),
    firstFaultMs: str("first-fault-ms"),
    faultSpacingMs: str("fault-spacing-ms"),
    catchUpTimeoutMs: str("catch-up-timeout-ms"),
    sampleIntervalMs: str("sample-interval-ms"),
    out: str("out"),
    workerFlags,
  };
}

/** Entry point of `ehw drill`; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (err) {
    console.error(`ehw drill: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let options: ReturnType<typeof compileDrillOptions>;
  try {
    options = compileDrillOptions(rawOptions(values));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`ehw drill: ${err.message}`);
    return EXIT_USAGE;
  }
  const logger = createLogger({ level: (values["log-level"] as string | undefined) ?? "warn", fd: 2 });
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const dataDir = values["data-dir"] as string | undefined;
    const outcome = await runDrill(options, { logger, signal: abort.signal, dataDir });
    console.log(renderMarkdown(outcome.report));
    console.error(
      `ehw drill: report in ${outcome.files.json}, ${outcome.files.markdown}, ${outcome.files.svg}`,
    );
    const failures = outcome.report.verdict.failures;
    if (failures.length === 0) return 0;
    for (const failure of failures) console.error(`ehw drill: FAILED ${failure.name}: ${failure.summary}`);
    return EXIT_FAILED;
  } catch (err) {
    if (abort.signal.aborted) {
      console.error("ehw drill: stopped; every process it started was stopped");
      return EXIT_INTERRUPTED;
    }
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
