/**
 * `ehw archive list|replay`: the files the `archive` handler wrote, and replay of a time or
 * sequence range from them into the pipelines of a worker config, or to a hub.
 *
 * Output: `list` prints a table (or with `--json` a JSON array) on stdout; `replay` shows a
 * progress bar on stderr and prints a summary (or with `--json` a JSON object) on stdout.
 * Exit codes: 0 done; 1 storage, a handler policy "stop" or the hub failed; 2 invalid command line
 * or configuration.
 */

import { listFiles, runReplay } from "../archive/commands.js";
import type { ArchiveFile } from "../archive/files.js";
import type { ArchiveCommandOptions } from "../config/archive-command.js";
import { readArchiveCommand } from "../config/archive-command.js";
import { createLogger } from "../observability/logger.js";
import { printColumns, readListOrReplay, runAction } from "./list-replay.js";

const USAGE = `usage: ehw archive list   [RANGE] [--archive-container NAME] [--json] [WORKER SETTINGS]
       ehw archive replay [RANGE] [--pipeline NAME | --to-hub NAME] [--dry-run] [--json] [WORKER SETTINGS]

Lists the Capture-format files the archive handler wrote for the config's hub, or replays the
archived events of a range: into the config's pipelines (the same handlers, attempts, backoff,
failure policies and dead-letter container as 'ehw run'; routed as the worker routes unless
--pipeline names one), or re-sent to a hub with --to-hub.

RANGE (every bound optional; files are picked by their metadata, events by their own fields):
  --partition ID             only this partition
  --from TIME --to TIME      events enqueued at or after --from and before --to (ISO 8601)
  --from-sequence N          events with a sequence number ≥ N
  --to-sequence N            events with a sequence number ≤ N

  --archive-container NAME   the archive's container [default: the config's archive handler's]
  --pipeline NAME            replay: run every event through this pipeline
  --to-hub NAME              replay: send to this hub instead (partition key kept, keyless
                             events to the partition they came from)
  --dry-run                  replay: count the events of the range, run and send nothing
  --json                     JSON output

WORKER SETTINGS are those of 'ehw run' (--config FILE, --eventhub-connection-string /
EHW_EVENTHUB_CONNECTION_STRING, --eventhub-name, --storage-connection-string, --container-name,
…); the archive's storage is its handler's, by default the checkpoint storage.`;

function readOptions(argv: string[]): ArchiveCommandOptions | number {
  return readListOrReplay("archive", USAGE, argv, (action, rest) => readArchiveCommand(action, rest));
}

function printTable(files: readonly ArchiveFile[]): void {
  const rows = [
    ["FILE", "PARTITION", "FIRST", "LAST", "EVENTS", "FIRST ENQUEUED", "LAST ENQUEUED", "BYTES"],
    ...files.map((f) => [
      f.name,
      f.partitionId,
      String(f.firstSequenceNumber),
      String(f.lastSequenceNumber),
      String(f.eventCount),
      f.firstEnqueuedTime,
      f.lastEnqueuedTime,
      String(f.sizeBytes),
    ]),
  ];
  printColumns(rows);
}

async function list(options: ArchiveCommandOptions): Promise<number> {
  const files = await listFiles(options);
  if (options.json) console.log(JSON.stringify(files, null, 2));
  else if (files.length === 0)
    console.error(`ehw archive: no files in container ${options.container} for this range`);
  else printTable(files);
  return 0;
}

/** A progress bar on a terminal; elsewhere a line at every tenth. */
function progressReporter(): {
  start: (total: number) => void;
  update: (done: number) => void;
  end: () => void;
} {
  let total = 0;
  let lastTenth = -1;
  const tty = process.stderr.isTTY === true;
  const draw = (done: number): void => {
    const share = total === 0 ? 1 : Math.min(1, done / total);
    if (tty) {
      const width = 30;
      const filled = Math.round(share * width);
      process.stderr.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} events`);
      return;
    }
    const tenth = Math.floor(share * 10);
    if (tenth > lastTenth) {
      lastTenth = tenth;
      process.stderr.write(`ehw archive: ${done} of at most ${total} events replayed\n`);
    }
  };
  return {
    start: (t) => {
      total = t;
      draw(0);
    },
    update: draw,
    end: () => {
      if (tty) process.stderr.write("\n");
    },
  };
}

async function replay(options: ArchiveCommandOptions): Promise<number> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const progress = progressReporter();
  const started = Date.now();
  try {
    const report = await runReplay(options, {
      // Logs go to stderr: stdout carries the summary.
      logger: createLogger({ level: options.worker.logLevel, fd: 2 }),
      signal: stop.signal,
      onStart: (files, upperBound) => {
        console.error(`ehw archive: ${files.length} file(s), at most ${upperBound} events`);
        progress.start(upperBound);
      },
      onProgress: progress.update,
    });
    progress.end();
    const seconds = (Date.now() - started) / 1000;
    if (options.json) console.log(JSON.stringify({ ...report, seconds }, null, 2));
    else {
      const verb = options.dryRun ? "would replay" : "replayed";
      console.log(
        `${verb} ${report.events} events from ${report.files} file(s) to ${report.target} in ${seconds.toFixed(1)} s`,
      );
      for (const [target, count] of Object.entries(report.byTarget)) console.log(`  ${target}: ${count}`);
      if (report.failed.resolved + report.failed.skipped > 0) {
        console.log(
          `  failed after their last attempt: ${report.failed.resolved} dead-lettered, ${report.failed.skipped} skipped`,
        );
      }
    }
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Entry point of `ehw archive`; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const options = readOptions(argv);
  if (typeof options === "number") return options;
  return runAction("archive", () => (options.action === "list" ? list(options) : replay(options)));
}
