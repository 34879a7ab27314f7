/**
 * Whether a partition may take new events: only while its ownership is surely still this
 * worker's. During a storage outage nothing can be checkpointed and the ownership cannot be
 * renewed; once it expires another worker may claim the partition when storage answers and start
 * from the last checkpoint, so every event taken meanwhile is delivered again. Taking none from
 * `ownershipExpirationMs − marginMs` after the last successful renewal on bounds those duplicates
 * by that time instead of by the outage's length. The processor asks at each admission; the
 * partition set tells it when a renewal succeeds, and it admits again.
 */
import type { Logger } from "../../observability/logger.js";

/** Where the gate reads how old the partition's last successful renewal is (the guarded store). */
export interface RenewalAges {
  /** Milliseconds since the last successful claim or renewal was sent; undefined when not held. */
  renewalAgeMs(partitionId: string): number | undefined;
}

/** Options of {@link OwnershipGate}. */
export interface OwnershipGateOptions {
  readonly partitionId: string;
  readonly renewals: RenewalAges;
  /** The load balancer's ownership expiry, milliseconds (`ownershipExpirationMs`). */
  readonly ownershipExpirationMs: number;
  /**
   * Milliseconds before the expiry at which new events stop; the worker passes one load-balancing
   * interval, so two renewals in a row must fail (expiry ≥ 3 × interval leaves ≥ 2 intervals).
   */
  readonly marginMs: number;
  /** The processor's logger. */
  readonly logger: Logger;
  /** Epoch milliseconds, for the pause's length in the log; default Date.now. */
  readonly clock?: () => number;
}

/** See the module comment. */
export class OwnershipGate {
  private readonly limitMs: number;
  private readonly clock: () => number;
  /** When the gate closed (epoch ms), while it is closed. */
  private closedAtMs: number | undefined;

  constructor(private readonly options: OwnershipGateOptions) {
    this.limitMs = options.ownershipExpirationMs - options.marginMs;
    this.clock = options.clock ?? Date.now;
  }

  /** Whether the partition is paused for want of a renewal. */
  get paused(): boolean {
    return this.closedAtMs !== undefined;
  }

  /**
   * True while the last successful renewal is younger than expiry − margin, or when the store
   * does not hold the partition (a loss is handled elsewhere). Logs each pause and resume once.
   */
  mayTakeEvents(): boolean {
    const ageMs = this.options.renewals.renewalAgeMs(this.options.partitionId);
    const open = ageMs === undefined || ageMs < this.limitMs;
    if (open === (this.closedAtMs === undefined)) return open;
    const { logger, ownershipExpirationMs } = this.options;
    if (!open) {
      this.closedAtMs = this.clock();
      logger.warn(
        { renewalAgeMs: Math.round(ageMs ?? 0), ownershipExpirationMs },
        "ownership not renewed (storage not answering?); taking no new events until a renewal succeeds",
      );
    } else {
      const pausedMs = this.clock() - (this.closedAtMs ?? this.clock());
      this.closedAtMs = undefined;
      logger.info({ pausedMs }, "ownership renewed; taking new events again");
    }
    return open;
  }
}
