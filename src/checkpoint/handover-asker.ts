/**
 * The asker's half of the cooperative hand-over (handover.ts): when the balancer claims a partition
 * a live owner holds, the claim waits on a request (written here, handover-blobs.ts) instead of
 * going to storage. The balancer picks partitions to steal at random each loop, so a request is
 * not tied to one claim: a claim from an owner that already has an unanswered request of ours
 * waits on that one, and only as many requests are outstanding as the balancer wants partitions.
 * A request not answered within the bound (the owner is frozen, crashed, or a processor that does
 * not read requests) falls back to an ordinary steal, and an owner that let a request time out is
 * stolen from without asking for five bounds (a plain SDK processor never answers).
 */
import type { Logger } from "../observability/logger.js";
import type { HandoverScope } from "./handover-blobs.js";
import type { HandoverListing } from "./handover-listing.js";

/** One of this worker's outstanding requests. */
export interface Asked {
  readonly partitionId: string;
  readonly to: string;
  readonly askedAtMs: number;
  /** Not written: the owner let a request time out lately, so it is not asked again (see `silent`). */
  readonly unasked?: boolean;
}

/** What the asker's side reports to the worker. */
export interface AskerHooks {
  /** This worker asked the owner `to` for the partition. */
  requested(partitionId: string, to: string): void;
  /** A partition this worker asked for was claimed after its owner gave it up. */
  completed(partitionId: string, from: string, pauseMs: number | undefined): void;
  /** A request was not answered in time: the claim goes on as a steal. */
  fellBack(partitionId: string, owner: string, reason: string): void;
}

/** Options of {@link HandoverAsker}. */
export interface HandoverAskerOptions {
  /** This worker's owner id. */
  readonly ownerId: string;
  readonly hooks: AskerHooks;
  /** Milliseconds after which an unanswered request falls back to a steal. */
  readonly timeoutMs: number;
  /** Epoch milliseconds. */
  readonly clock: () => number;
  readonly logger: Logger;
}

/** How a claim passed on to storage ended, for the asker. */
export type ClaimOutcome = "lost" | "won" | "handed-over";

/** How many bounds an owner that let a request time out is stolen from without asking. */
const SILENT_BOUNDS = 5;

/**
 * The outstanding request a claim of `partitionId` from `owner` waits on: the one for that
 * partition, else one to the same owner that no other claim of this loop waits on and whose
 * partition the owner still holds. Undefined: a new request is due. Pure.
 */
export function requestToWaitOn(
  partitionId: string,
  owner: string,
  asked: ReadonlyMap<string, Asked>,
  waitedOn: ReadonlySet<string>,
  ownerOf: (partitionId: string) => string | undefined,
): Asked | undefined {
  const same = asked.get(partitionId);
  if (same !== undefined && same.to === owner) return same;
  for (const request of asked.values()) {
    if (request.to !== owner || waitedOn.has(request.partitionId)) continue;
    if (ownerOf(request.partitionId) === owner) return request;
  }
  return undefined;
}

/** See the module comment. */
export class HandoverAsker {
  private readonly asked = new Map<string, Asked>();
  /** Requests a claim of the current loop waits on; reset at each listing. */
  private readonly waitedOn = new Set<string>();
  /** Steal claims of the current loop, with the timed-out request each falls back from. */
  private readonly stealing = new Map<string, Asked>();
  /**
   * Owners that let a request time out, and until when they are not asked again: a plain SDK
   * processor never answers, and asking it for every partition would cost a bound each.
   */
  private readonly silent = new Map<string, number>();

  constructor(
    private readonly listing: HandoverListing,
    private readonly options: HandoverAskerOptions,
  ) {}

  /** Whether this worker has an outstanding request for the partition. */
  hasAsked(partitionId: string): boolean {
    return this.asked.has(partitionId);
  }

  /** A new load-balancing loop: no claim waits on anything yet. */
  newLoop(): void {
    this.waitedOn.clear();
    this.stealing.clear();
  }

  /**
   * A claim of a live owner's partition: true when it may go on as a steal (its request was not
   * answered in time); otherwise it waits on a request, written now when none is outstanding.
   */
  async mayTake(partitionId: string, owner: string, now: number): Promise<boolean> {
    if ((this.silent.get(owner) ?? 0) > now) {
      this.stealing.set(partitionId, { partitionId, to: owner, askedAtMs: now, unasked: true });
      return true;
    }
    const waitOn = requestToWaitOn(
      partitionId,
      owner,
      this.asked,
      this.waitedOn,
      (id) => this.listing.ownership(id)?.ownerId,
    );
    if (waitOn === undefined) {
      await this.ask(partitionId, owner, now);
      return false;
    }
    this.waitedOn.add(waitOn.partitionId);
    const waitedMs = now - waitOn.askedAtMs;
    if (waitedMs < this.options.timeoutMs) return false;
    // The request is given up only once the steal wins (claimed); a steal that loses its ETag race
    // leaves it timed out, so the next loop steals again without asking anew.
    this.stealing.set(partitionId, waitOn);
    return true;
  }

  /** A claim passed on to storage ended: the requests it waited on or fell back from are settled. */
  claimed(partitionId: string, outcome: ClaimOutcome, now: number): void {
    const fallback = this.stealing.get(partitionId);
    this.stealing.delete(partitionId);
    if (outcome === "lost") return;
    if (fallback !== undefined) this.fellBack(partitionId, fallback);
    const asked = this.asked.get(partitionId);
    if (asked === undefined) return;
    this.asked.delete(partitionId);
    if (outcome === "handed-over") {
      this.silent.delete(asked.to);
      const accepted = this.listing.request(partitionId)?.acceptedAtMs;
      const released = this.listing.ownership(partitionId)?.lastModifiedTimeInMs;
      const since = accepted ?? released;
      this.options.hooks.completed(partitionId, asked.to, since === undefined ? undefined : now - since);
    }
    this.listing.deleteRequest(partitionId);
  }

  /** Drops outstanding requests whose partition this worker or a third one now holds, or that are stale. */
  forgetSettled(now: number): void {
    for (const [partitionId, asked] of this.asked) {
      const owner = this.listing.ownership(partitionId)?.ownerId;
      const taken = owner !== undefined && owner !== "" && owner !== asked.to;
      if (!taken && now - asked.askedAtMs <= 2 * this.options.timeoutMs) continue;
      this.asked.delete(partitionId);
      if (owner !== this.options.ownerId) this.listing.deleteRequest(partitionId);
    }
  }

  /** A steal after `request` timed out won its partition: the request is given up. */
  private fellBack(partitionId: string, request: Asked): void {
    const { hooks, timeoutMs } = this.options;
    if (request.unasked === true) {
      hooks.fellBack(partitionId, request.to, "the owner let an earlier request time out");
      return;
    }
    this.asked.delete(request.partitionId);
    this.listing.deleteRequest(request.partitionId);
    this.silent.set(request.to, this.options.clock() + SILENT_BOUNDS * timeoutMs);
    hooks.fellBack(
      partitionId,
      request.to,
      `request for partition ${request.partitionId} not answered within ${timeoutMs} ms`,
    );
  }

  private async ask(partitionId: string, owner: string, now: number): Promise<void> {
    const scope = this.listing.scope;
    if (scope === undefined) return;
    // Counted from the first attempt even when the write fails or another asker's request is
    // there: the bound holds either way, and nothing waits forever.
    this.asked.set(partitionId, { partitionId, to: owner, askedAtMs: now });
    this.waitedOn.add(partitionId);
    try {
      const request = { partitionId, from: this.options.ownerId, to: owner, requestedAtMs: now };
      const written = await this.listing.store.create(scope, request);
      if (written === undefined) this.replaceStale(scope, partitionId, owner, now);
    } catch (err) {
      this.options.logger.warn({ err, partitionId, owner }, "writing a hand-over request failed");
    }
    this.options.hooks.requested(partitionId, owner);
  }

  /** A request blob already there: replaced when it is stale or names an earlier owner. */
  private replaceStale(scope: HandoverScope, partitionId: string, owner: string, now: number): void {
    const existing = this.listing.request(partitionId);
    if (existing === undefined) return;
    if (existing.to === owner && now - existing.requestedAtMs < this.options.timeoutMs) return;
    const { store } = this.listing;
    const request = { partitionId, from: this.options.ownerId, to: owner, requestedAtMs: now };
    void store
      .delete(scope, partitionId, existing.etag)
      .then((deleted) => (deleted ? store.create(scope, request) : undefined))
      .catch((err: unknown) =>
        this.options.logger.warn({ err, partitionId }, "replacing a hand-over request failed"),
      );
  }
}
