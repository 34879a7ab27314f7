/**
 * The drill's producer: the load generator's send loop (src/producer) over a sender that records
 * exactly which ids each acknowledged batch held, and that rides out a hub restart by sending a
 * failed batch again until a deadline. A batch sent again may have landed the first time; its ids
 * then exist twice in the hub, which at-least-once allows, and the loss check is by id.
 */
import type { CreateBatchOptions, EventDataBatch, EventHubProducerClient } from "@azure/event-hubs";
import { sleep } from "../common/retry.js";
import { partitionIndexForKey } from "../emulator/services/partition-key.js";
import type { Logger } from "../observability/logger.js";
import { keyForId } from "../producer/plan.js";
import type { BatchSender } from "../producer/send-loop.js";
import type { SentEvent } from "./types.js";

/** Options of {@link RecordingSender}. */
export interface RecordingSenderOptions {
  /** Milliseconds a batch (or batch creation) keeps being retried after failures; default 60000. */
  readonly retryForMs?: number;
  /** Pause between attempts, milliseconds; default 500. */
  readonly retryPauseMs?: number;
  readonly signal?: AbortSignal;
  readonly logger: Logger;
}

/** A {@link BatchSender} that records acknowledged ids and retries failed sends; see the module comment. */
export class RecordingSender implements BatchSender {
  /** Ids of acknowledged batches, in acknowledgement order. */
  readonly acknowledged: number[] = [];
  /** Send attempts that failed and were tried again. */
  retriedBatches = 0;
  private readonly idsOf = new WeakMap<EventDataBatch, number[]>();

  constructor(
    private readonly client: Pick<EventHubProducerClient, "createBatch" | "sendBatch">,
    private readonly options: RecordingSenderOptions,
  ) {}

  async createBatch(options?: CreateBatchOptions): Promise<EventDataBatch> {
    const batch = await this.retrying("create a batch", () => this.client.createBatch(options));
    const ids: number[] = [];
    const tryAdd = batch.tryAdd.bind(batch);
    // Record what the batch really holds: tryAdd may refuse an event that does not fit.
    batch.tryAdd = (event, addOptions) => {
      const added = tryAdd(event, addOptions);
      const id = (event as { properties?: { id?: unknown } }).properties?.id;
      if (added && typeof id === "number") ids.push(id);
      return added;
    };
    this.idsOf.set(batch, ids);
    return batch;
  }

  async sendBatch(batch: EventDataBatch): Promise<void> {
    await this.retrying(
      "send a batch",
      () => this.client.sendBatch(batch),
      () => {
        this.retriedBatches += 1;
      },
    );
    this.acknowledged.push(...(this.idsOf.get(batch) ?? []));
  }

  /** Runs `attempt` until it succeeds, the retry time is up, or the signal aborts. */
  async retrying<T>(what: string, attempt: () => Promise<T>, onRetry?: () => void): Promise<T> {
    const deadline = Date.now() + (this.options.retryForMs ?? 60_000);
    for (;;) {
      try {
        return await attempt();
      } catch (err) {
        if (Date.now() >= deadline || this.options.signal?.aborted) throw err;
        onRetry?.();
        this.options.logger.warn(
          { err: (err as Error).message },
          `drill producer: cannot ${what}; trying again`,
        );
        await sleep(this.options.retryPauseMs ?? 500, this.options.signal);
      }
    }
  }
}

/**
 * The sent events with their key and partition: with `keyCount` keys, id `i` carries
 * `key-{i mod keyCount}` and lands in the partition the service's key hash picks (partition ids
 * `0 … partitionCount-1`); without keys the partition is not known when sending.
 */
export function sentEvents(ids: readonly number[], keyCount: number, partitionCount: number): SentEvent[] {
  const partitionOfKey = new Map<string, string>();
  return ids.map((id) => {
    if (keyCount === 0) return { id, partitionId: undefined, key: null };
    const key = keyForId(id, keyCount);
    let partitionId = partitionOfKey.get(key);
    if (partitionId === undefined) {
      partitionId = String(partitionIndexForKey(key, partitionCount));
      partitionOfKey.set(key, partitionId);
    }
    return { id, partitionId, key };
  });
}
