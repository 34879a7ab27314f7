/**
 * Cooperative hand-over of partitions between live workers (Kafka's incremental cooperative
 * rebalancing, on the SDK's own load balancer). The SDK's balancer still decides *which* partitions
 * move; this piece changes only *how* a partition owned by a live worker moves:
 *
 * - asker: when the balancer claims a partition whose ownership (in the latest listing) names
 *   another live owner, the claim is not passed on: a request blob is written instead
 *   (handover-blobs.ts) and the partition is left out of the result, which the SDK treats like a
 *   lost race. Once the owner gave it up (owner id ""), the balancer's next loop claims it like any
 *   free partition, and the new pump starts from the owner's final checkpoint: no event is
 *   processed twice. A request not answered within `timeoutMs` (the owner is frozen, crashed, or a
 *   processor that does not read requests) falls back to an ordinary steal of the claim;
 * - owner: each load-balancing loop lists the requests (one list call). For one naming a partition
 *   it holds it marks the request accepted, lets the worker drain the partition (no new events,
 *   in-flight ones finish within `drainTimeoutMs`, final checkpoint), gives the ownership up and
 *   refuses its own balancer's claims of that partition for `cooldownMs`, so that it does not take
 *   it back before the asker's next loop (flapping).
 *
 * The balancer picks partitions to steal at random each loop, so a request is not tied to one
 * claim: a claim from an owner that already has an unanswered request of ours waits on that one,
 * and only as many requests are outstanding as the balancer wants partitions. An owner that let a
 * request time out is stolen from without asking for five bounds (a plain SDK processor never
 * answers). Requests older than twice the bound (their asker died) are deleted by whoever lists them.
 */
import type { PartitionOwnership } from "@azure/event-hubs";
import { type Logger, silentLogger } from "../observability/logger.js";
import type { HandoverRequest, HandoverRequests, HandoverScope } from "./handover-blobs.js";

/**
 * How a claim got its partition: `new` (no ownership record yet), `own` (the record names this
 * worker: a renewal or a reconnect), `released` (given up by its owner: a graceful stop, or a
 * pump that closed), `handover` (given up in answer to this worker's request), `expired` (the
 * owner stopped renewing: crashed or frozen), `steal` (taken from a live owner without hand-over).
 */
export type ClaimVia = "new" | "own" | "released" | "handover" | "expired" | "steal";

/** What the guarded store asks of the protocol (its narrow hook). */
export interface ClaimScreen {
  /** After each ownership listing (once per load-balancing loop). */
  listed(scope: HandoverScope, ownerships: readonly PartitionOwnership[]): Promise<void>;
  /** The claims to pass on to storage; the others are left out of the result. */
  screen(claims: readonly PartitionOwnership[]): Promise<PartitionOwnership[]>;
  /** The claims passed on and which of them were won. */
  claimed(passed: readonly PartitionOwnership[], won: readonly PartitionOwnership[]): void;
}

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

/** What the protocol reports and asks of the worker. */
export interface HandoverHooks {
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
  /** This worker asked the owner `to` for the partition. */
  requested(partitionId: string, to: string): void;
  /** A partition this worker asked for was claimed after its owner gave it up. */
  completed(partitionId: string, from: string, pauseMs: number | undefined): void;
  /** A request was not answered in time: the claim goes on as a steal. */
  fellBack(partitionId: string, owner: string, reason: string): void;
}

/** Options of {@link HandoverProtocol}. */
export interface HandoverProtocolOptions {
  /** This worker's owner id. */
  readonly ownerId: string;
  readonly requests: HandoverRequests;
  readonly hooks: HandoverHooks;
  /** The SDK's ownership expiry, milliseconds: an older record is free, not a live owner's. */
  readonly ownershipExpirationMs: number;
  /** Milliseconds an owner has to drain in-flight events of a partition it hands over. */
  readonly drainTimeoutMs: number;
  /** Milliseconds after which an unanswered request falls back to a steal. */
  readonly timeoutMs: number;
  /** Milliseconds the owner refuses its own claims of a partition it handed over; default `timeoutMs`. */
  readonly cooldownMs?: number;
  /** Epoch milliseconds; default `Date.now`. */
  readonly clock?: () => number;
  readonly logger?: Logger;
}

/** One of this worker's outstanding requests. */
interface Asked {
  readonly partitionId: string;
  readonly to: string;
  readonly askedAtMs: number;
  /** Not written: the owner let a request time out lately, so it is not asked again (see `silent`). */
  readonly unasked?: boolean;
}

/** How many bounds an owner that let a request time out is stolen from without asking. */
const SILENT_BOUNDS = 5;

/** How a claim of a partition whose latest ownership record is `current` gets it; pure. */
export function claimVia(
  current: PartitionOwnership | undefined,
  ownerId: string,
  nowMs: number,
  expirationMs: number,
  asked: boolean,
): ClaimVia {
  if (current === undefined) return "new";
  if (current.ownerId === ownerId) return "own";
  if (current.ownerId === "") return asked ? "handover" : "released";
  const modified = current.lastModifiedTimeInMs;
  if (modified === undefined || nowMs - modified >= expirationMs) return "expired";
  return "steal";
}

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
export class HandoverProtocol implements ClaimScreen {
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly cooldownMs: number;
  private holder: OwnershipHolder | undefined;
  private scope: HandoverScope | undefined;
  private readonly ownerships = new Map<string, PartitionOwnership>();
  private requestsSeen = new Map<string, HandoverRequest>();
  private readonly asked = new Map<string, Asked>();
  /** Requests a claim of the current loop waits on; reset at each listing. */
  private readonly waitedOn = new Set<string>();
  /** How each claim passed on in the current loop gets its partition. */
  private readonly pending = new Map<string, ClaimVia>();
  /** How the last won claim of each partition got it. */
  private readonly via = new Map<string, ClaimVia>();
  /** Partitions this owner is handing over, or handed over, and since when (cooldown). */
  private readonly givenUp = new Map<string, number>();
  private readonly active = new Map<string, Promise<void>>();
  /** Steal claims of the current loop, with the timed-out request each falls back from. */
  private readonly stealing = new Map<string, Asked>();
  /**
   * Owners that let a request time out, and until when they are not asked again: a plain SDK
   * processor never answers, and asking it for every partition would cost a bound each.
   */
  private readonly silent = new Map<string, number>();

  constructor(private readonly options: HandoverProtocolOptions) {
    this.clock = options.clock ?? Date.now;
    this.logger = (options.logger ?? silentLogger()).child({ component: "handover" });
    this.cooldownMs = options.cooldownMs ?? options.timeoutMs;
  }

  /** The store whose ownerships the owner's side gives up; set once it exists. */
  attach(holder: OwnershipHolder): void {
    this.holder = holder;
  }

  /** How the last won claim of the partition got it, if this worker claimed it. */
  claimedVia(partitionId: string): ClaimVia | undefined {
    return this.via.get(partitionId);
  }

  /** Resolves once every hand-over under way has ended (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.active.values()]);
  }

  async listed(scope: HandoverScope, ownerships: readonly PartitionOwnership[]): Promise<void> {
    this.scope = scope;
    this.ownerships.clear();
    for (const o of ownerships) this.ownerships.set(o.partitionId, o);
    this.waitedOn.clear();
    this.stealing.clear();
    let requests: HandoverRequest[];
    try {
      requests = await this.options.requests.list(scope);
    } catch (err) {
      // Without the requests this loop goes on as before; the next loop lists again.
      this.logger.warn({ err }, "listing hand-over requests failed");
      return;
    }
    this.requestsSeen = new Map(requests.map((r) => [r.partitionId, r]));
    const now = this.clock();
    for (const request of requests) this.consider(request, now);
    this.forgetSettledRequests(now);
  }

  async screen(claims: readonly PartitionOwnership[]): Promise<PartitionOwnership[]> {
    const now = this.clock();
    const passed: PartitionOwnership[] = [];
    for (const claim of claims) {
      const { partitionId } = claim;
      // An abandon, or a claim under another id: not ours to judge.
      if (claim.ownerId !== this.options.ownerId) {
        passed.push(claim);
        continue;
      }
      const since = this.givenUp.get(partitionId);
      if (since !== undefined && now - since < this.cooldownMs) continue;
      const current = this.ownerships.get(partitionId);
      const via = claimVia(
        current,
        this.options.ownerId,
        now,
        this.options.ownershipExpirationMs,
        this.asked.has(partitionId),
      );
      if (via === "steal" && !(await this.mayTake(partitionId, current?.ownerId ?? "", now))) continue;
      this.pending.set(partitionId, via);
      passed.push(claim);
    }
    return passed;
  }

  claimed(passed: readonly PartitionOwnership[], won: readonly PartitionOwnership[]): void {
    const wonIds = new Set(won.filter((o) => o.ownerId === this.options.ownerId).map((o) => o.partitionId));
    const now = this.clock();
    for (const claim of passed) {
      const via = this.pending.get(claim.partitionId);
      const fallback = this.stealing.get(claim.partitionId);
      this.pending.delete(claim.partitionId);
      this.stealing.delete(claim.partitionId);
      if (via === undefined || !wonIds.has(claim.partitionId)) continue;
      this.via.set(claim.partitionId, via);
      if (fallback !== undefined) this.fellBack(claim.partitionId, fallback);
      const asked = this.asked.get(claim.partitionId);
      if (asked === undefined) continue;
      this.asked.delete(claim.partitionId);
      if (via === "handover") {
        this.silent.delete(asked.to);
        const accepted = this.requestsSeen.get(claim.partitionId)?.acceptedAtMs;
        const released = this.ownerships.get(claim.partitionId)?.lastModifiedTimeInMs;
        const since = accepted ?? released;
        this.options.hooks.completed(
          claim.partitionId,
          asked.to,
          since === undefined ? undefined : now - since,
        );
      }
      this.deleteRequest(claim.partitionId);
    }
  }

  /** A steal after `request` timed out won its partition: the request is given up. */
  private fellBack(partitionId: string, request: Asked): void {
    if (request.unasked === true) {
      this.options.hooks.fellBack(partitionId, request.to, "the owner let an earlier request time out");
      return;
    }
    this.asked.delete(request.partitionId);
    this.deleteRequest(request.partitionId);
    this.silent.set(request.to, this.clock() + SILENT_BOUNDS * this.options.timeoutMs);
    this.options.hooks.fellBack(
      partitionId,
      request.to,
      `request for partition ${request.partitionId} not answered within ${this.options.timeoutMs} ms`,
    );
  }

  /**
   * A claim of a live owner's partition: true when it may go on as a steal (its request was not
   * answered in time); otherwise it waits on a request, written now when none is outstanding.
   */
  private async mayTake(partitionId: string, owner: string, now: number): Promise<boolean> {
    if ((this.silent.get(owner) ?? 0) > now) {
      this.stealing.set(partitionId, { partitionId, to: owner, askedAtMs: now, unasked: true });
      return true;
    }
    const waitOn = requestToWaitOn(
      partitionId,
      owner,
      this.asked,
      this.waitedOn,
      (id) => this.ownerships.get(id)?.ownerId,
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

  private async ask(partitionId: string, owner: string, now: number): Promise<void> {
    const scope = this.scope;
    if (scope === undefined) return;
    // Counted from the first attempt even when the write fails or another asker's request is
    // there: the bound holds either way, and nothing waits forever.
    this.asked.set(partitionId, { partitionId, to: owner, askedAtMs: now });
    this.waitedOn.add(partitionId);
    try {
      const request = { partitionId, from: this.options.ownerId, to: owner, requestedAtMs: now };
      const written = await this.options.requests.create(scope, request);
      if (written === undefined) this.replaceStale(scope, partitionId, owner, now);
    } catch (err) {
      this.logger.warn({ err, partitionId, owner }, "writing a hand-over request failed");
    }
    this.options.hooks.requested(partitionId, owner);
  }

  /** A request blob already there: replaced when it is stale or names an earlier owner. */
  private replaceStale(scope: HandoverScope, partitionId: string, owner: string, now: number): void {
    const existing = this.requestsSeen.get(partitionId);
    if (existing === undefined) return;
    if (existing.to === owner && now - existing.requestedAtMs < this.options.timeoutMs) return;
    void this.options.requests
      .delete(scope, partitionId, existing.etag)
      .then((deleted) =>
        deleted
          ? this.options.requests.create(scope, {
              partitionId,
              from: this.options.ownerId,
              to: owner,
              requestedAtMs: now,
            })
          : undefined,
      )
      .catch((err: unknown) =>
        this.logger.warn({ err, partitionId }, "replacing a hand-over request failed"),
      );
  }

  /** The owner's side of one listed request, and the clean-up of stale ones. */
  private consider(request: HandoverRequest, now: number): void {
    const age = now - request.requestedAtMs;
    const { partitionId } = request;
    if (age > 2 * this.options.timeoutMs) {
      this.deleteRequest(partitionId, request.etag);
      return;
    }
    if (request.to !== this.options.ownerId || request.acceptedAtMs !== undefined) return;
    if (age > this.options.timeoutMs || this.active.has(partitionId)) return;
    if (this.holder?.owns(partitionId) !== true) return;
    const run = this.handOver(request).catch((err: unknown) =>
      this.logger.warn({ err, partitionId }, "hand-over failed; the asker falls back to a steal"),
    );
    this.active.set(partitionId, run);
    void run.finally(() => this.active.delete(partitionId));
  }

  private async handOver(request: HandoverRequest): Promise<void> {
    const { partitionId } = request;
    const scope = this.scope;
    const holder = this.holder;
    if (scope === undefined || holder === undefined) return;
    if (!this.options.hooks.mayHandOver(partitionId)) return;
    const startedAt = this.clock();
    if (!(await this.options.requests.accept(scope, request, startedAt))) return;
    const drain = await this.options.hooks.drain(partitionId, this.options.drainTimeoutMs);
    if (drain === undefined) return;
    // From here the balancer must not renew or re-claim it (see screen).
    this.givenUp.set(partitionId, this.clock());
    const released = await holder.relinquish(partitionId);
    this.givenUp.set(partitionId, this.clock());
    this.options.hooks.handedOver({
      partitionId,
      to: request.from,
      released,
      drain,
      pauseMs: this.clock() - startedAt,
    });
  }

  /** Drops outstanding requests whose partition this worker or a third one now holds. */
  private forgetSettledRequests(now: number): void {
    for (const [partitionId, asked] of this.asked) {
      const owner = this.ownerships.get(partitionId)?.ownerId;
      const taken = owner !== undefined && owner !== "" && owner !== asked.to;
      if (!taken && now - asked.askedAtMs <= 2 * this.options.timeoutMs) continue;
      this.asked.delete(partitionId);
      if (owner !== this.options.ownerId) this.deleteRequest(partitionId);
    }
    for (const [partitionId, since] of this.givenUp) {
      if (now - since >= this.cooldownMs && !this.active.has(partitionId)) this.givenUp.delete(partitionId);
    }
  }

  private deleteRequest(partitionId: string, etag?: string): void {
    const scope = this.scope;
    if (scope === undefined) return;
    const known = etag ?? this.requestsSeen.get(partitionId)?.etag;
    void this.options.requests
      .delete(scope, partitionId, known)
      .catch((err: unknown) =>
        this.logger.debug({ err, partitionId }, "deleting a hand-over request failed"),
      );
  }
}
