/**
 * Replay of archived events: into the pipelines of a worker config (the same handlers, the same
 * attempts and backoff, the same failure policy and dead-lettering as `ehw run`), or re-sent to a
 * hub. Events go in partition and sequence order; a pipeline gets at most `batchSize` consecutive
 * events of one partition per run, like the worker's batches.
 */
import type { EventData, EventHubProducerClient, ReceivedEventData } from "@azure/event-hubs";
import type { ContainerClient } from "@azure/storage-blob";
import { EhwError, toError } from "../common/errors.js";
import { backoffDelayMs, sleep } from "../common/retry.js";
import type { PolicyFailureHandler } from "../deadletter/failure-handler.js";
import type { Pipeline } from "../handlers/pipeline.js";
import type { HandlerRegistry } from "../handlers/registry.js";
import type { Logger } from "../observability/logger.js";
import { inRange, type ReplayRange, recordToEvent } from "./events.js";
import { type ArchiveFile, readFileRecords } from "./files.js";

/** One archived event and its partition. */
export interface ArchivedEvent {
  readonly partitionId: string;
  readonly event: ReceivedEventData;
}

/** The events of the files that fall in the range, in file order. */
export async function* archivedEvents(
  container: ContainerClient,
  files: readonly ArchiveFile[],
  range: ReplayRange,
  signal?: AbortSignal,
): AsyncGenerator<ArchivedEvent> {
  for (const file of files) {
    for await (const record of readFileRecords(container, file.name, signal)) {
      const event = recordToEvent(record);
      if (inRange(event, range)) yield { partitionId: file.partitionId, event };
    }
  }
}

/** Counts of a replay. */
export interface ReplaySummary {
  /** Events taken from the archive. */
  events: number;
  /** Events per pipeline (into pipelines) or per target partition / key (to a hub). */
  readonly byTarget: Record<string, number>;
  /** Events whose last attempt failed and that the policy dead-lettered (`resolved`) or skipped. */
  readonly failed: { resolved: number; skipped: number };
}

/** Options of {@link replayIntoPipelines}. */
export interface PipelineReplayOptions {
  /** The config's loaded handlers, with the worker's input checks. */
  readonly registry: Pick<HandlerRegistry, "route" | "pipelines">;
  /** Run every event through this pipeline; default: route each event as the worker does. */
  readonly pipeline?: string;
  /** The config's failure policies (dead-letter container included). */
  readonly failureHandler: PolicyFailureHandler;
  /** Attempts per unit, ≥ 1, and backoff between them (the worker's settings). */
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** Most events per run of a batch pipeline (the worker's maxBatchSize). */
  readonly batchSize: number;
  readonly eventHubName: string;
  readonly consumerGroup: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /** Called after every unit with the events done so far. */
  readonly onProgress?: (events: number) => void;
}

function pickPipeline(options: PipelineReplayOptions, event: ReceivedEventData): Pipeline {
  if (options.pipeline === undefined) return options.registry.route(event);
  const pipeline = options.registry.pipelines.get(options.pipeline);
  if (pipeline === undefined) {
    const known = [...options.registry.pipelines.keys()].join(", ");
    throw new EhwError(
      "REPLAY_NO_PIPELINE",
      `--pipeline ${options.pipeline}: no such pipeline in the config; known: ${known}`,
    );
  }
  return pipeline;
}

/** Runs one unit with the worker's attempts; then the failure policy. */
async function runUnit(
  pipeline: Pipeline,
  partitionId: string,
  events: ReceivedEventData[],
  options: PipelineReplayOptions,
  summary: ReplaySummary,
): Promise<void> {
  const signal = options.signal ?? new AbortController().signal;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= options.maxAttempts; attempt += 1) {
    try {
      await pipeline.run(events, {
        partitionId,
        eventHubName: options.eventHubName,
        consumerGroup: options.consumerGroup,
        attempt,
        logger: options.logger,
        signal,
      });
      return;
    } catch (err) {
      lastError = toError(err);
      const retriable = !(err instanceof EhwError) || err.retriable;
      if (!retriable || attempt === options.maxAttempts || signal.aborted) break;
      const delay = backoffDelayMs(attempt, {
        baseDelayMs: options.retryBaseDelayMs,
        maxDelayMs: options.retryMaxDelayMs,
      });
      await sleep(delay, signal);
    }
  }
  const first = events[0] as ReceivedEventData;
  const decision = await options.failureHandler.onExhausted({
    event: first,
    events,
    error: lastError ?? new Error("failed"),
    attempts: options.maxAttempts,
    partitionId,
    pipeline: pipeline.name,
    signal,
  });
  if (decision === "stop") {
    throw new EhwError(
      "REPLAY_STOPPED",
      `replay stopped: pipeline "${pipeline.name}" failed on partition ${partitionId} at sequence number ${first.sequenceNumber} and its policy is "stop": ${lastError?.message ?? ""}`,
      { cause: lastError, context: { partitionId, sequenceNumber: first.sequenceNumber } },
    );
  }
  summary.failed[decision] += events.length;
}

/** Replays the events into the config's pipelines; rejects with REPLAY_STOPPED when a policy says stop. */
export async function replayIntoPipelines(
  source: AsyncIterable<ArchivedEvent>,
  options: PipelineReplayOptions,
): Promise<ReplaySummary> {
  const summary: ReplaySummary = { events: 0, byTarget: {}, failed: { resolved: 0, skipped: 0 } };
  let unit: { pipeline: Pipeline; partitionId: string; events: ReceivedEventData[] } | undefined;
  const flush = async (): Promise<void> => {
    if (unit === undefined) return;
    const { pipeline, partitionId, events } = unit;
    unit = undefined;
    if (pipeline.kind === "batch") await runUnit(pipeline, partitionId, events, options, summary);
    else for (const event of events) await runUnit(pipeline, partitionId, [event], options, summary);
    summary.events += events.length;
    summary.byTarget[pipeline.name] = (summary.byTarget[pipeline.name] ?? 0) + events.length;
    options.onProgress?.(summary.events);
  };
  for await (const { partitionId, event } of source) {
    const pipeline = pickPipeline(options, event);
    const fits =
      unit !== undefined &&
      unit.pipeline === pipeline &&
      unit.partitionId === partitionId &&
      unit.events.length < options.batchSize;
    if (!fits) await flush();
    if (unit === undefined) unit = { pipeline, partitionId, events: [] };
    unit.events.push(event);
  }
  await flush();
  return summary;
}

/** What a re-sent event carries: body bytes, properties, ids, content type. */
export function eventToSend(event: ReceivedEventData): EventData {
  const raw = event.getRawAmqpMessage();
  const data: EventData = { body: raw.body ?? event.body, properties: event.properties };
  if (event.messageId !== undefined) data.messageId = event.messageId;
  if (event.correlationId !== undefined) data.correlationId = event.correlationId;
  if (event.contentType !== undefined) data.contentType = event.contentType;
  return data;
}

/**
 * Re-sends the events to the producer's hub: an event with a partition key under that key, any
 * other to the partition it was archived from; in order, in batches as large as the hub allows.
 */
export async function replayToHub(
  source: AsyncIterable<ArchivedEvent>,
  producer: EventHubProducerClient,
  onProgress?: (events: number) => void,
): Promise<ReplaySummary> {
  const summary: ReplaySummary = { events: 0, byTarget: {}, failed: { resolved: 0, skipped: 0 } };
  let target: string | undefined;
  let batch: Awaited<ReturnType<EventHubProducerClient["createBatch"]>> | undefined;
  const send = async (): Promise<void> => {
    if (batch === undefined || batch.count === 0 || target === undefined) return;
    await producer.sendBatch(batch);
    summary.events += batch.count;
    summary.byTarget[target] = (summary.byTarget[target] ?? 0) + batch.count;
    batch = undefined;
    onProgress?.(summary.events);
  };
  for await (const { partitionId, event } of source) {
    const key = event.partitionKey ?? undefined;
    const next = key === undefined ? `partition ${partitionId}` : `key ${key}`;
    if (next !== target) {
      await send();
      target = next;
    }
    const data = eventToSend(event);
    const open = async () =>
      producer.createBatch(key === undefined ? { partitionId } : { partitionKey: key });
    batch ??= await open();
    if (batch.tryAdd(data)) continue;
    await send();
    batch = await open();
    if (!batch.tryAdd(data)) {
      throw new EhwError(
        "REPLAY_EVENT_TOO_LARGE",
        `event ${event.sequenceNumber} of partition ${partitionId} is larger than the hub accepts`,
        { context: { partitionId, sequenceNumber: event.sequenceNumber } },
      );
    }
  }
  await send();
  return summary;
}
