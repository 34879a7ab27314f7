/**
 * `ehw deadletter list|replay`: looks at and re-sends the events the worker dead-lettered.
 *
 * Output: `list` prints a table (or with `--json` one JSON array) on stdout; `replay` prints one
 * line per document (or with `--json` one JSON array of results) on stdout and a summary on stderr.
 *
 * Exit codes: 0 done (every replay succeeded); 1 a replay failed (its blob is kept) or storage /
 * the hub could not be reached; 2 invalid command line or configuration.
 */

import { readRawDeadLetterOptions } from "../config/command-source.js";
import {
  compileDeadLetterCommandOptions,
  DEAD_LETTER_FLAGS,
  type DeadLetterCommandOptions,
  type RawDeadLetterFlags,
} from "../deadletter/command-options.js";
import { createReplayProducer } from "../deadletter/producer.js";
import { producerSender, type ReplayResult, replayDeadLetters } from "../deadletter/replay.js";
import { createDeadLetterStore, type DeadLetterEntry, type DeadLetterStore } from "../deadletter/store.js";
import { sendFailure } from "../producer/client.js";
import { EXIT_FAILED, printColumns, readListOrReplay, runAction } from "./list-replay.js";

const USAGE = `usage: ehw deadletter list   [--partition ID] [--pipeline NAME] [--limit N] [--json]
       ehw deadletter replay [--to-hub NAME] [--partition ID] [--pipeline NAME] [--limit N] [--dry-run] [--json]

Lists or re-sends the events the worker dead-lettered (one JSON document per event in the
dead-letter container). Connection settings are the worker's: --eventhub-connection-string /
EHW_EVENTHUB_CONNECTION_STRING (or --eventhub-namespace), --eventhub-name, --consumer-group,
--storage-connection-string / EHW_STORAGE_CONNECTION_STRING (or --storage-account-url),
--container-name, --dead-letter-container / EHW_DEAD_LETTER_CONTAINER [default:
<container-name>-deadletter], and --config <worker config file>. Prefer env vars for connection
strings.

  --partition ID                only documents of this source partition
  --pipeline NAME               only documents of this pipeline
  --limit N                     at most N documents (in partition, sequence number order)
  --json                        JSON output instead of a table
  --to-hub NAME                 replay: send to this hub [default: the hub the events came from]
  --dry-run                     replay: show what would be sent; send and delete nothing

Replay sends each event again with its original body, application properties, message id,
correlation id, content type and partition key (keyless events go back to their partition when
the target is the same hub), and deletes a document only after its send succeeded; a failed send
keeps the document and makes the exit code 1.`;

/** Reads and compiles the options; an exit code instead for help and usage errors. */
function readOptions(argv: string[]): DeadLetterCommandOptions | number {
  return readListOrReplay<DeadLetterCommandOptions>("deadletter", USAGE, argv, (action, rest) => {
    const read = readRawDeadLetterOptions(`deadletter ${action}`, rest, DEAD_LETTER_FLAGS[action]);
    if (read.help) return { help: true };
    const flags = read.flags as RawDeadLetterFlags;
    return { help: false, options: compileDeadLetterCommandOptions(action, read.raw, flags, process.cwd()) };
  });
}

function openStore(options: DeadLetterCommandOptions): DeadLetterStore {
  return createDeadLetterStore({
    storage: options.storage,
    containerName: options.deadLetterContainer,
    eventHubName: options.eventHubs.eventHubName,
    consumerGroup: options.eventHubs.consumerGroup,
  });
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function printTable(entries: readonly DeadLetterEntry[]): void {
  const rows = [
    ["BLOB", "PARTITION", "SEQUENCE", "PIPELINE", "TIME", "ERROR"],
    ...entries.map((e) => [
      e.name,
      e.partitionId,
      String(e.sequenceNumber),
      e.pipeline,
      e.deadLetteredAt,
      oneLine(e.error, 120),
    ]),
  ];
  printColumns(rows);
}

async function list(options: DeadLetterCommandOptions): Promise<number> {
  const entries = await openStore(options).list({
    partitionId: options.partitionId,
    pipeline: options.pipeline,
    limit: options.limit,
  });
  if (options.json) console.log(JSON.stringify(entries, null, 2));
  else if (entries.length === 0) console.error("ehw deadletter: no dead-lettered events");
  else printTable(entries);
  return 0;
}

function describeResult(result: ReplayResult): string {
  const target = result.target?.partitionKey
    ? `key ${JSON.stringify(result.target.partitionKey)}`
    : result.target?.partitionId !== undefined
      ? `partition ${result.target.partitionId}`
      : "any partition";
  const what = `${result.name} (partition ${result.partitionId}, sequence ${result.sequenceNumber})`;
  if (result.status === "failed") return `failed     ${what}: ${result.error ?? "unknown error"}`;
  return `${result.status === "replayed" ? "replayed  " : "would send"} ${what} → ${target}`;
}

async function replay(options: DeadLetterCommandOptions): Promise<number> {
  const hub = options.toHub ?? options.eventHubs.eventHubName;
  const store = openStore(options);
  const producer = createReplayProducer(options.eventHubs, hub);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    if (!options.dryRun) {
      // A wrong hub name or key fails here, once, instead of once per document.
      await producer.getEventHubProperties().catch((err: unknown) => {
        throw sendFailure(err, "reach", { hub, endpointHost: options.eventHubs.endpointHost });
      });
    }
    const results = await replayDeadLetters({
      store,
      sender: producerSender(producer),
      filter: { partitionId: options.partitionId, pipeline: options.pipeline, limit: options.limit },
      sameHub: hub.toLowerCase() === options.eventHubs.eventHubName.toLowerCase(),
      dryRun: options.dryRun,
      signal: stop.signal,
      onResult: options.json ? undefined : (r) => console.log(describeResult(r)),
    });
    if (options.json) console.log(JSON.stringify(results, null, 2));
    const failed = results.filter((r) => r.status === "failed").length;
    const done = results.length - failed;
    const verb = options.dryRun ? "would replay" : "replayed";
    console.error(`ehw deadletter: ${verb} ${done}, failed ${failed}, to hub '${hub}'`);
    return failed > 0 ? EXIT_FAILED : 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await producer.close().catch(() => undefined);
  }
}

/** Entry point of `ehw deadletter`; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const options = readOptions(argv);
  if (typeof options === "number") return options;
  return runAction("deadletter", () => (options.action === "list" ? list(options) : replay(options)));
}
