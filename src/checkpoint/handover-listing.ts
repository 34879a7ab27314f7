/**
 * What both halves of the hand-over (handover-asker.ts, handover-owner.ts) read of the current
 * load-balancing loop: the ownerships and the requests last listed, the scope they were listed in,
 * and the request store, with the one way to delete a request (best effort: a request left behind
 * is deleted by whoever lists it once it is stale).
 */
import type { PartitionOwnership } from "@azure/event-hubs";
import type { Logger } from "../observability/logger.js";
import type { HandoverRequest, HandoverRequests, HandoverScope } from "./handover-blobs.js";

/** See the module comment. */
export class HandoverListing {
  /** Where the last listing was made; undefined before the first. */
  scope: HandoverScope | undefined;
  private readonly ownerships = new Map<string, PartitionOwnership>();
  private requests = new Map<string, HandoverRequest>();

  constructor(
    /** The request blobs. */
    readonly store: HandoverRequests,
    private readonly logger: Logger,
  ) {}

  /** A new loop's ownership listing. */
  listedOwnerships(scope: HandoverScope, ownerships: readonly PartitionOwnership[]): void {
    this.scope = scope;
    this.ownerships.clear();
    for (const o of ownerships) this.ownerships.set(o.partitionId, o);
  }

  /** A new loop's request listing (kept from the loop before when listing them failed). */
  listedRequests(requests: readonly HandoverRequest[]): void {
    this.requests = new Map(requests.map((r) => [r.partitionId, r]));
  }

  /** The partition's ownership in the latest listing. */
  ownership(partitionId: string): PartitionOwnership | undefined {
    return this.ownerships.get(partitionId);
  }

  /** The partition's request in the latest request listing. */
  request(partitionId: string): HandoverRequest | undefined {
    return this.requests.get(partitionId);
  }

  /** Deletes the partition's request, under `etag` or the listed one's; failures are only logged. */
  deleteRequest(partitionId: string, etag?: string): void {
    const scope = this.scope;
    if (scope === undefined) return;
    const known = etag ?? this.requests.get(partitionId)?.etag;
    void this.store
      .delete(scope, partitionId, known)
      .catch((err: unknown) =>
        this.logger.debug({ err, partitionId }, "deleting a hand-over request failed"),
      );
  }
}
