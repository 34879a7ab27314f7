/**
 * What `ehw archive list|replay` do, given compiled options: the CLI only parses, prints and
 * maps errors to exit codes. Replay into pipelines loads the config's handlers and failure
 * handling the way a worker does; the registry is closed again whatever happens.
 */
import { randomUUID } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import type { ArchiveCommandOptions } from "../config/archive-command.js";
import { createReplayProducer } from "../deadletter/producer.js";
import { prepareFailureHandling } from "../deadletter/worker-setup.js";
import { archiveContainerClient } from "../handlers/builtins/archive/storage.js";
import { loadHandlerRegistry } from "../handlers/registry.js";
import type { Logger } from "../observability/logger.js";
import type { ReplayRange } from "./events.js";
import { type ArchiveFile, listArchiveFiles } from "./files.js";
import { archivedEvents, type ReplaySummary, replayIntoPipelines, replayToHub } from "./replay.js";

/** The archive container the options point at. */
export function archiveContainer(options: ArchiveCommandOptions): ContainerClient {
  return archiveContainerClient(options.storage, options.container);
}

function rangeOf(options: ArchiveCommandOptions): ReplayRange {
  return {
    partitionId: options.partitionId,
    fromTime: options.fromTime,
    toTime: options.toTime,
    fromSequenceNumber: options.fromSequenceNumber,
    toSequenceNumber: options.toSequenceNumber,
  };
}

/** The files of the configured hub that may hold events of the range, in replay order. */
export function listFiles(options: ArchiveCommandOptions): Promise<ArchiveFile[]> {
  return listArchiveFiles(archiveContainer(options), {
    ...rangeOf(options),
    eventHubName: options.worker.eventHubs.eventHubName,
    namespace: options.namespace,
  });
}

/** How a replay reports. */
export interface ReplayRun {
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /** Called once with the files and the most events they can hold, then with the events done. */
  readonly onStart?: (files: readonly ArchiveFile[], upperBound: number) => void;
  readonly onProgress?: (events: number) => void;
}

/** What a replay did: where the events went and how many. */
export interface ReplayReport extends ReplaySummary {
  /** "pipelines", `hub <name>`, or "dry run". */
  readonly target: string;
  readonly files: number;
}

/** Runs `ehw archive replay`. */
export async function runReplay(options: ArchiveCommandOptions, run: ReplayRun): Promise<ReplayReport> {
  const files = await listFiles(options);
  run.onStart?.(
    files,
    files.reduce((sum, f) => sum + f.eventCount, 0),
  );
  const source = archivedEvents(archiveContainer(options), files, rangeOf(options), run.signal);
  if (options.dryRun) {
    const summary: ReplaySummary = { events: 0, byTarget: {}, failed: { resolved: 0, skipped: 0 } };
    for await (const { partitionId } of source) {
      summary.events += 1;
      summary.byTarget[`partition ${partitionId}`] = (summary.byTarget[`partition ${partitionId}`] ?? 0) + 1;
    }
    return { ...summary, target: "dry run", files: files.length };
  }
  if (options.toHub !== undefined) {
    const producer = createReplayProducer(options.worker.eventHubs, options.toHub);
    try {
      const summary = await replayToHub(source, producer, run.onProgress);
      return { ...summary, target: `hub ${options.toHub}`, files: files.length };
    } finally {
      await producer.close().catch(() => undefined);
    }
  }
  return {
    ...(await replayThroughPipelines(options, source, run)),
    target: "pipelines",
    files: files.length,
  };
}

async function replayThroughPipelines(
  options: ArchiveCommandOptions,
  source: ReturnType<typeof archivedEvents>,
  run: ReplayRun,
): Promise<ReplaySummary> {
  const { worker } = options;
  const logger = run.logger;
  const failure = await prepareFailureHandling({
    handlers: worker.handlers,
    storage: worker.storage,
    deadLetterContainer: worker.deadLetter.containerName,
    eventHubName: worker.eventHubs.eventHubName,
    consumerGroup: worker.eventHubs.consumerGroup,
    logger,
  });
  const registry = await loadHandlerRegistry(worker.handlers, { logger, workerId: `replay-${randomUUID()}` });
  try {
    return await replayIntoPipelines(source, {
      registry: failure.guard(registry),
      pipeline: options.pipeline,
      failureHandler: failure.failureHandler,
      maxAttempts: worker.processing.maxAttempts,
      retryBaseDelayMs: worker.processing.retryBaseDelayMs,
      retryMaxDelayMs: worker.processing.retryMaxDelayMs,
      batchSize: worker.processing.maxBatchSize,
      eventHubName: worker.eventHubs.eventHubName,
      consumerGroup: worker.eventHubs.consumerGroup,
      logger,
      signal: run.signal,
      onProgress: run.onProgress,
    });
  } finally {
    await registry.close();
  }
}
