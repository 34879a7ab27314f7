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
 * This file is the hook the guarded store calls (ClaimScreen) and how each claim got its partition;
 * the asker's half is handover-asker.ts, the owner's half handover-owner.ts, and the latest listing
 * both read handover-listing.ts. Requests older than twice the bound (their asker died) are deleted
 * by whoever lists them.
 */
import type { PartitionOwnership } from "@azure/event-hubs";
import { type Logger, silentLogger } from "../observability/logger.js";
import { type AskerHooks, type ClaimOutcome, HandoverAsker } from "./handover-asker.js";
import type { HandoverRequest, HandoverRequests, HandoverScope } from "./handover-blobs.js";
import { HandoverListing } from "./handover-listing.js";
import { HandoverOwner, type OwnerHooks, type OwnershipHolder } from "./handover-owner.js";

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

/** What the protocol reports and asks of the worker: the owner's side and the asker's. */
export type HandoverHooks = OwnerHooks & AskerHooks;

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

/** See the module comment. */
export class HandoverProtocol implements ClaimScreen {
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly listing: HandoverListing;
  private readonly asker: HandoverAsker;
  private readonly owner: HandoverOwner;
  /** How each claim passed on in the current loop gets its partition. */
  private readonly pending = new Map<string, ClaimVia>();
  /** How the last won claim of each partition got it. */
  private readonly via = new Map<string, ClaimVia>();

  constructor(private readonly options: HandoverProtocolOptions) {
    const clock = options.clock ?? Date.now;
    const logger = (options.logger ?? silentLogger()).child({ component: "handover" });
    const { ownerId, hooks, timeoutMs } = options;
    this.clock = clock;
    this.logger = logger;
    this.listing = new HandoverListing(options.requests, logger);
    this.asker = new HandoverAsker(this.listing, { ownerId, hooks, timeoutMs, clock, logger });
    this.owner = new HandoverOwner(this.listing, {
      ownerId,
      hooks,
      drainTimeoutMs: options.drainTimeoutMs,
      timeoutMs,
      cooldownMs: options.cooldownMs ?? timeoutMs,
      clock,
      logger,
    });
  }

  /** The store whose ownerships the owner's side gives up; set once it exists. */
  attach(holder: OwnershipHolder): void {
    this.owner.attach(holder);
  }

  /** How the last won claim of the partition got it, if this worker claimed it. */
  claimedVia(partitionId: string): ClaimVia | undefined {
    return this.via.get(partitionId);
  }

  /** Resolves once every hand-over under way has ended (tests, shutdown). */
  settled(): Promise<void> {
    return this.owner.settled();
  }

  async listed(scope: HandoverScope, ownerships: readonly PartitionOwnership[]): Promise<void> {
    this.listing.listedOwnerships(scope, ownerships);
    this.asker.newLoop();
    let requests: HandoverRequest[];
    try {
      requests = await this.options.requests.list(scope);
    } catch (err) {
      // Without the requests this loop goes on as before; the next loop lists again.
      this.logger.warn({ err }, "listing hand-over requests failed");
      return;
    }
    this.listing.listedRequests(requests);
    const now = this.clock();
    for (const request of requests) this.owner.consider(request, now);
    this.asker.forgetSettled(now);
    this.owner.forgetCooledDown(now);
  }

  async screen(claims: readonly PartitionOwnership[]): Promise<PartitionOwnership[]> {
    const now = this.clock();
    const { ownerId, ownershipExpirationMs } = this.options;
    const passed: PartitionOwnership[] = [];
    for (const claim of claims) {
      const { partitionId } = claim;
      // An abandon, or a claim under another id: not ours to judge.
      if (claim.ownerId !== ownerId) {
        passed.push(claim);
        continue;
      }
      if (this.owner.refusesClaim(partitionId, now)) continue;
      const current = this.listing.ownership(partitionId);
      const asked = this.asker.hasAsked(partitionId);
      const via = claimVia(current, ownerId, now, ownershipExpirationMs, asked);
      if (via === "steal" && !(await this.asker.mayTake(partitionId, current?.ownerId ?? "", now))) continue;
      this.pending.set(partitionId, via);
      passed.push(claim);
    }
    return passed;
  }

  claimed(passed: readonly PartitionOwnership[], won: readonly PartitionOwnership[]): void {
    const wonIds = new Set(won.filter((o) => o.ownerId === this.options.ownerId).map((o) => o.partitionId));
    const now = this.clock();
    for (const { partitionId } of passed) {
      const via = this.pending.get(partitionId);
      this.pending.delete(partitionId);
      let outcome: ClaimOutcome = "lost";
      if (via !== undefined && wonIds.has(partitionId)) {
        this.via.set(partitionId, via);
        outcome = via === "handover" ? "handed-over" : "won";
      }
      this.asker.claimed(partitionId, outcome, now);
    }
  }
}
