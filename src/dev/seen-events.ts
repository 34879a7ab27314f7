/**
 * Which events were handled at least once, per partition, without I/O: sequence numbers kept as
 * sorted disjoint ranges, so that an hour of a steady stream costs a few ranges rather than one
 * entry per event. "Handled" minus "distinct" is what was delivered again (at-least-once at work:
 * after a kill, a rebalance, or a checkpoint that had not been written yet).
 */

/** A set of integers stored as sorted, disjoint, non-adjacent inclusive ranges. */
export class RangeSet {
  private starts: number[] = [];
  private ends: number[] = [];
  private count = 0;

  /** Number of distinct integers in the set. */
  get size(): number {
    return this.count;
  }

  /** Number of ranges the set is stored as. */
  get ranges(): number {
    return this.starts.length;
  }

  /** Index of the last range starting at or before `n`, or -1. */
  private rangeAtOrBefore(n: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.starts[mid] as number) <= n) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Whether `n` is in the set. */
  has(n: number): boolean {
    const i = this.rangeAtOrBefore(n);
    return i >= 0 && n <= (this.ends[i] as number);
  }

  /** Adds `n`; returns false when it was already there. */
  add(n: number): boolean {
    const i = this.rangeAtOrBefore(n);
    if (i >= 0 && n <= (this.ends[i] as number)) return false;
    this.count++;
    const joinsLeft = i >= 0 && this.ends[i] === n - 1;
    const joinsRight = i + 1 < this.starts.length && this.starts[i + 1] === n + 1;
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[i + 1] as number;
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    } else if (joinsLeft) {
      this.ends[i] = n;
    } else if (joinsRight) {
      this.starts[i + 1] = n;
    } else {
      this.starts.splice(i + 1, 0, n);
      this.ends.splice(i + 1, 0, n);
    }
    return true;
  }
}

/** Events handled, by partition and sequence number, over all workers of a session. */
export class SeenEvents {
  private readonly partitions = new Map<string, RangeSet>();
  private handled = 0;

  /** Records one handling of event `sequenceNumber` of `partitionId`; false when it was handled before. */
  record(partitionId: string, sequenceNumber: number): boolean {
    this.handled++;
    let set = this.partitions.get(partitionId);
    if (set === undefined) {
      set = new RangeSet();
      this.partitions.set(partitionId, set);
    }
    return set.add(sequenceNumber);
  }

  /** Handlings recorded, repeats included. */
  get total(): number {
    return this.handled;
  }

  /** Distinct events handled. */
  get distinct(): number {
    let sum = 0;
    for (const set of this.partitions.values()) sum += set.size;
    return sum;
  }

  /** Handlings of events that had been handled before. */
  get repeated(): number {
    return this.handled - this.distinct;
  }
}

/** Partition id, sequence number and worker of one ledger line, or undefined for anything else. */
export function ledgerEventOf(
  line: string,
): { partitionId: string; sequenceNumber: number; workerId: string | undefined } | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const entry = JSON.parse(line) as { p?: unknown; s?: unknown; w?: unknown };
    if (typeof entry.p !== "string" || typeof entry.s !== "number" || !Number.isSafeInteger(entry.s)) {
      return undefined;
    }
    const workerId = typeof entry.w === "string" ? entry.w : undefined;
    return { partitionId: entry.p, sequenceNumber: entry.s, workerId };
  } catch {
    return undefined;
  }
}

/**
 * Why an event was handled again, from how the worker that handled it again got its partition
 * (the `via` of its claim line): `crash` (the owner's ownership expired: killed or frozen),
 * `steal` (taken from a live owner without hand-over), `handover` (cooperative: should never
 * happen), `release` (given up by its owner: a SIGTERM, should never happen either), `reconnect`
 * (the same worker reopened it), `other` (no claim line seen).
 */
export function redeliveryCause(via: string | undefined): string {
  switch (via) {
    case "expired":
      return "crash";
    case "steal":
    case "handover":
      return via;
    case "released":
      return "release";
    case "own":
      return "reconnect";
    default:
      return "other";
  }
}

/** Redeliveries by cause (see {@link redeliveryCause}). */
export class RedeliveryCauses {
  private readonly counts = new Map<string, number>();

  /** Counts one redelivery by the claim of the worker that handled it again. */
  record(via: string | undefined): void {
    const cause = redeliveryCause(via);
    this.counts.set(cause, (this.counts.get(cause) ?? 0) + 1);
  }

  /** The counts so far, causes in first-seen order. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
