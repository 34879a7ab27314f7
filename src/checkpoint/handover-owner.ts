/**
 * The owner's half of the cooperative hand-over (handover.ts): for each listed request that names
 * a partition this worker holds, it marks the request accepted, lets the worker drain the partition
 * (no new events, in-flight ones finish within the drain timeout, final checkpoint), gives the
 * ownership up and then refuses its own balancer's claims of that partition for a cooldown, so
 * that it does not take it back before the asker's next loop (flapping). It also deletes requests
 * older than twice the bound (their asker died).
 */
import type { Logger } from "../observability/logger.js";
import type { HandoverRequest } from "./handover-blobs.js";
import type { HandoverListing } from "./handover-listing.js";

/** What the owner's side needs of the store holding the ownership. */
export interface OwnershipHolder {
  owns(partitionId: string): boolean;
  /** Gives the ownership up (owner id ""); false when there was nothing to give up. */
  relinquish(partitionId: string): Promise<boolean>;
}

/** How the partition's processing ended for a hand-over. */
export interface HandoverDrain {
  /** False when in-flight events were aborted at the deadline. */
  readonly drained: boolean;
  /** Sequence number of the final checkpoint, if any. */
  readonly checkpoint: number | undefined;
}

/** What the owner's side asks of the worker and reports to it. */
export interface OwnerHooks {
  /** Whether the partition can be handed over now; checked before the request is accepted. */
  mayHandOver(partitionId: string): boolean;
  /**
   * Stops taking new events of the partition, lets in-flight ones finish within `deadlineMs` and
   * writes the final checkpoint. Undefined when the partition cannot be handed over now (not
   * running here, stopped by a failed event, or the worker is stopping anyway).
   */
  drain(partitionId: string, deadlineMs: number): Promise<HandoverDrain | undefined>;
  /** The partition was given up (or giving it up failed) after its drain. */
  handedOver(event: {
    partitionId: string;
    to: string;
    released: boolean;
    drain: HandoverDrain;
    pauseMs: number;
  }): void;
}

/** Options of {@link HandoverOwner}. */
export interface HandoverOwnerOptions {
  /** This worker's owner id. */
  readonly ownerId: string;
  readonly hooks: OwnerHooks;
  /** Milliseconds an owner has to drain in-flight events of a partition it hands over. */
  readonly drainTimeoutMs: number;
  /** Milliseconds after which a request is no longer answered (the asker steals). */
  readonly timeoutMs: number;
  /** Milliseconds the owner refuses its own claims of a partition it handed over. */
  readonly cooldownMs: number;
  /** Epoch milliseconds. */
  readonly clock: () => number;
  readonly logger: Logger;
}

/** See the module comment. */
export class HandoverOwner {
  private holder: OwnershipHolder | undefined;
  /** Partitions this owner is handing over, or handed over, and since when (cooldown). */
  private readonly givenUp = new Map<string, number>();
  private readonly active = new Map<string, Promise<void>>();

  constructor(
    private readonly listing: HandoverListing,
    private readonly options: HandoverOwnerOptions,
  ) {}

  /** The store whose ownerships this side gives up; set once it exists. */
  attach(holder: OwnershipHolder): void {
    this.holder = holder;
  }

  /** Resolves once every hand-over under way has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.active.values()]);
  }

  /** Whether this owner's own claim of the partition must wait: it is handing it over, or did lately. */
  refusesClaim(partitionId: string, now: number): boolean {
    const since = this.givenUp.get(partitionId);
    return since !== undefined && now - since < this.options.cooldownMs;
  }

  /** The owner's side of one listed request, and the clean-up of stale ones. */
  consider(request: HandoverRequest, now: number): void {
    const age = now - request.requestedAtMs;
    const { partitionId } = request;
    if (age > 2 * this.options.timeoutMs) {
      this.listing.deleteRequest(partitionId, request.etag);
      return;
    }
    if (request.to !== this.options.ownerId || request.acceptedAtMs !== undefined) return;
    if (age > this.options.timeoutMs || this.active.has(partitionId)) return;
    if (this.holder?.owns(partitionId) !== true) return;
    const run = this.handOver(request).catch((err: unknown) =>
      this.options.logger.warn({ err, partitionId }, "hand-over failed; the asker falls back to a steal"),
    );
    this.active.set(partitionId, run);
    void run.finally(() => this.active.delete(partitionId));
  }

  /** Ends the cooldowns that have run out. */
  forgetCooledDown(now: number): void {
    for (const [partitionId, since] of this.givenUp) {
      if (now - since >= this.options.cooldownMs && !this.active.has(partitionId)) {
        this.givenUp.delete(partitionId);
      }
    }
  }

  private async handOver(request: HandoverRequest): Promise<void> {
    const { partitionId } = request;
    const scope = this.listing.scope;
    const holder = this.holder;
    const { hooks, clock } = this.options;
    if (scope === undefined || holder === undefined) return;
    if (!hooks.mayHandOver(partitionId)) return;
    const startedAt = clock();
    if (!(await this.listing.store.accept(scope, request, startedAt))) return;
    const drain = await hooks.drain(partitionId, this.options.drainTimeoutMs);
    if (drain === undefined) return;
    // From here the balancer must not renew or re-claim it (see refusesClaim).
    this.givenUp.set(partitionId, clock());
    const released = await holder.relinquish(partitionId);
    this.givenUp.set(partitionId, clock());
    hooks.handedOver({ partitionId, to: request.from, released, drain, pauseMs: clock() - startedAt });
  }
}
