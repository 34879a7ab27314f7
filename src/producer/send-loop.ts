/**
 * The load generator's sending loop: `concurrency` senders each take a lane from the plan, fill a
 * batch to its size limit (`createBatch` + `tryAdd` until it refuses), wait for the rate limiter,
 * and send. Stopping (the signal) lets batches already being sent finish and starts no new one.
 * With a tracer, each batch has a producer span whose context its events carry (send-tracing.ts).
 */
import type { CreateBatchOptions, EventData, EventDataBatch, SendBatchOptions } from "@azure/event-hubs";
import { ConfigError, toError } from "../common/errors.js";
import { isAbortError } from "../common/retry.js";
import type { SendOptions } from "./options.js";
import { batchEventCap, type Lane, SendPlan } from "./plan.js";
import type { BatchSpan, BatchTracer } from "./send-tracing.js";
import { TokenBucket } from "./token-bucket.js";

/** The part of `EventHubProducerClient` the loop uses. */
export interface BatchSender {
  createBatch(options?: CreateBatchOptions): Promise<EventDataBatch>;
  sendBatch(batch: EventDataBatch, options?: SendBatchOptions): Promise<void>;
}

/** What was sent so far; updated after every acknowledged batch. */
export interface SendProgress {
  /** Events acknowledged by the service. */
  sent: number;
  /** Batches acknowledged. */
  batches: number;
  /** Smallest id acknowledged, or undefined before the first batch. */
  firstId: number | undefined;
  /** Largest id acknowledged, or undefined before the first batch. */
  lastId: number | undefined;
}

/** The outcome of {@link sendEvents}. */
export interface SendSummary extends SendProgress {
  /** Seconds from start to the last acknowledgement. */
  seconds: number;
  /** `sent / seconds`. */
  eventsPerSecond: number;
  /** Whether the signal stopped the run before every event was sent. */
  interrupted: boolean;
}

/** Options of {@link sendEvents} besides the validated {@link SendOptions}. */
export interface SendControl {
  /** Stops the run after the batches being sent. */
  signal?: AbortSignal;
  /** Receives the live counters at start; read it for progress reports. */
  progress?: SendProgress;
  /** Clock in milliseconds; default `performance.now`. */
  now?: () => number;
  /** Opens a producer span per batch (tracing on); default none, and then nothing is traced. */
  tracer?: BatchTracer;
}

/** The parts of {@link SendOptions} the loop needs; benchmarks pass these directly. */
export type SendLoopOptions = Pick<
  SendOptions,
  "count" | "ratePerSecond" | "bodySizeBytes" | "routing" | "idStart" | "type" | "concurrency"
>;

/**
 * Builds the event with application properties `id` and `type`, and the batch span's trace
 * properties when given; bodies share one buffer.
 */
export function eventFactory(
  bodySizeBytes: number,
  type: string,
): (id: number, trace?: Readonly<Record<string, string>>) => EventData {
  const body = Buffer.alloc(bodySizeBytes, 0x61);
  return (id, trace) => ({ body, properties: trace === undefined ? { id, type } : { ...trace, id, type } });
}

interface LoopState {
  readonly plan: SendPlan;
  readonly makeEvent: ReturnType<typeof eventFactory>;
  readonly cap: number;
  readonly bodySizeBytes: number;
  readonly bucket: TokenBucket | undefined;
  readonly stop: AbortSignal;
  readonly progress: SendProgress;
  readonly now: () => number;
  readonly tracer: BatchTracer | undefined;
  lastAckAt: number;
}

/** Adds ids of `lane` to `batch` until the batch refuses one or `cap` is reached. */
function fill(
  batch: EventDataBatch,
  lane: Lane,
  state: LoopState,
  span: BatchSpan | undefined,
): { ids: number[]; refused: boolean } {
  const trace = span?.properties;
  const ids: number[] = [];
  while (ids.length < state.cap) {
    const id = lane.peek();
    if (id === undefined) return { ids, refused: false };
    if (!batch.tryAdd(state.makeEvent(id, trace))) return { ids, refused: true };
    lane.advance();
    ids.push(id);
  }
  return { ids, refused: false };
}

function record(progress: SendProgress, ids: number[]): void {
  progress.sent += ids.length;
  progress.batches += 1;
  // Ids of one batch increase; batches of different lanes interleave.
  const lo = ids[0] as number;
  const hi = ids[ids.length - 1] as number;
  progress.firstId = progress.firstId === undefined ? lo : Math.min(progress.firstId, lo);
  progress.lastId = progress.lastId === undefined ? hi : Math.max(progress.lastId, hi);
}

/** Fills and sends one batch of `lane`. Returns false when nothing was left to send. */
async function sendOne(client: BatchSender, lane: Lane, state: LoopState): Promise<boolean> {
  const batch = await client.createBatch({ ...lane.batchOptions });
  if (state.stop.aborted || lane.peek() === undefined) return false;
  const span = state.tracer?.start(lane.batchOptions);
  try {
    const ids = await fillAndSend(client, batch, lane, state, span);
    span?.sent(ids);
    state.lastAckAt = state.now();
    record(state.progress, ids);
    return true;
  } catch (err) {
    span?.failed(err);
    throw err;
  }
}

/** Fills `batch` (at least one id is left) and sends it; returns the ids it held. */
async function fillAndSend(
  client: BatchSender,
  batch: EventDataBatch,
  lane: Lane,
  state: LoopState,
  span: BatchSpan | undefined,
): Promise<number[]> {
  const { ids } = fill(batch, lane, state, span);
  if (ids.length === 0) {
    throw new ConfigError(
      `--body-size ${state.bodySizeBytes}: one event does not fit in a batch of at most ${batch.maxSizeInBytes} bytes; choose a smaller --body-size`,
      { context: { setting: "--body-size" } },
    );
  }
  if (state.bucket !== undefined) await state.bucket.take(ids.length, state.stop);
  // No abort signal here: a batch that started sending is finished, so the summary is exact.
  await (span === undefined ? client.sendBatch(batch) : span.run(() => client.sendBatch(batch)));
  return ids;
}

async function sender(client: BatchSender, state: LoopState): Promise<void> {
  while (!state.stop.aborted) {
    const lane = state.plan.acquire();
    if (lane === undefined) return;
    try {
      if (!(await sendOne(client, lane, state))) continue;
    } finally {
      state.plan.release(lane);
    }
  }
}

/**
 * Sends `options.count` events with ids `idStart …` through `client`. Resolves with the summary
 * (also after the signal stopped it); rejects with the first send error once the other senders
 * have finished their batches.
 */
export async function sendEvents(
  client: BatchSender,
  options: SendLoopOptions,
  control: SendControl = {},
): Promise<SendSummary> {
  const now = control.now ?? (() => performance.now());
  const failed = new AbortController();
  const stop = control.signal ? AbortSignal.any([control.signal, failed.signal]) : failed.signal;
  const progress = control.progress ?? { sent: 0, batches: 0, firstId: undefined, lastId: undefined };
  const startedAt = now();
  const state: LoopState = {
    plan: new SendPlan(options.routing, options.idStart, options.count),
    makeEvent: eventFactory(options.bodySizeBytes, options.type),
    cap: batchEventCap(options.ratePerSecond),
    bodySizeBytes: options.bodySizeBytes,
    bucket:
      options.ratePerSecond === undefined
        ? undefined
        : new TokenBucket({ ratePerSecond: options.ratePerSecond, now }),
    stop,
    progress,
    now,
    tracer: control.tracer,
    lastAckAt: startedAt,
  };
  let firstError: Error | undefined;
  const senders = Array.from({ length: options.concurrency }, () =>
    sender(client, state).catch((err: unknown) => {
      if (isAbortError(err) && stop.aborted) return;
      firstError ??= toError(err);
      failed.abort(firstError);
    }),
  );
  await Promise.all(senders);
  if (firstError !== undefined) throw firstError;
  const seconds = Math.max(0, state.lastAckAt - startedAt) / 1000;
  return {
    ...progress,
    seconds,
    eventsPerSecond: seconds > 0 ? progress.sent / seconds : 0,
    interrupted: progress.sent < options.count,
  };
}
