/**
 * Batch planning for the load generator, without I/O: which ids exist, which partition key each
 * one carries, and which batch lane (a key, a partition, or "anywhere") a sender fills next.
 *
 * With keys, id `i` carries key `key-{i mod K}`, so the same id always gets the same key across
 * runs that continue with `--id-start`. Each key is its own lane and at most one batch per key is
 * in flight, so a key's ids reach its partition in increasing order.
 */
import type { SendRouting } from "./options.js";

/** The partition key of event `id` when ids are spread over `keyCount` keys round robin. */
export function keyForId(id: number, keyCount: number): string {
  return `key-${id % keyCount}`;
}

/** The `createBatch` options of a lane: at most one of key and partition id. */
export interface LaneBatchOptions {
  readonly partitionKey?: string;
  readonly partitionId?: string;
}

/**
 * One stream of ids that go into batches created with the same options: ids `first`,
 * `first + step`, … below `end`.
 */
export class Lane {
  private nextId: number;
  /** Whether a sender is filling or sending a batch of this lane (exclusive lanes only). */
  busy = false;

  constructor(
    readonly batchOptions: LaneBatchOptions,
    first: number,
    private readonly step: number,
    private readonly end: number,
    /** Whether at most one batch of this lane may be in flight, to keep its ids in order. */
    readonly exclusive: boolean,
  ) {
    this.nextId = first;
  }

  /** The next id to add, or undefined when the lane is exhausted. */
  peek(): number | undefined {
    return this.nextId < this.end ? this.nextId : undefined;
  }

  /** Marks the id returned by {@link peek} as taken. */
  advance(): void {
    this.nextId += this.step;
  }

  /** Ids not yet taken. */
  remaining(): number {
    return this.nextId < this.end ? Math.ceil((this.end - this.nextId) / this.step) : 0;
  }
}

/** Hands lanes to senders round robin; the ids `idStart … idStart + count - 1` are spread over them. */
export class SendPlan {
  readonly lanes: readonly Lane[];
  private cursor = 0;

  constructor(routing: SendRouting, idStart: number, count: number) {
    const end = idStart + count;
    if (routing.kind === "keys") {
      const k = routing.keyCount;
      const lanes: Lane[] = [];
      for (let key = 0; key < k; key++) {
        // The first id ≥ idStart with id mod k = key.
        const first = idStart + ((((key - (idStart % k)) % k) + k) % k);
        lanes.push(new Lane({ partitionKey: `key-${key}` }, first, k, end, true));
      }
      this.lanes = lanes;
    } else if (routing.kind === "partition") {
      this.lanes = [new Lane({ partitionId: routing.partitionId }, idStart, 1, end, false)];
    } else {
      this.lanes = [new Lane({}, idStart, 1, end, false)];
    }
  }

  /**
   * The next lane with ids left that is free to fill, round robin, marked busy if exclusive; or
   * undefined when every lane with ids left is busy or none has ids left. A sender that gets
   * undefined may stop: the busy lanes' holders finish them.
   */
  acquire(): Lane | undefined {
    const n = this.lanes.length;
    for (let i = 0; i < n; i++) {
      const lane = this.lanes[(this.cursor + i) % n];
      if (lane === undefined || lane.busy || lane.peek() === undefined) continue;
      this.cursor = (this.cursor + i + 1) % n;
      if (lane.exclusive) lane.busy = true;
      return lane;
    }
    return undefined;
  }

  /** Frees a lane returned by {@link acquire}. */
  release(lane: Lane): void {
    lane.busy = false;
  }

  /** Ids not yet taken, over all lanes. */
  remaining(): number {
    return this.lanes.reduce((sum, lane) => sum + lane.remaining(), 0);
  }
}

/**
 * Most events per batch: unlimited without a rate; with one, 50 ms worth (at least 1), so that a
 * low rate is not sent as one burst per second.
 */
export function batchEventCap(ratePerSecond: number | undefined): number {
  if (ratePerSecond === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.ceil(ratePerSecond / 20));
}
