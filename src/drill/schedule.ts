/**
 * The fault schedule of a drill, pure and seeded: the same seed and counts give the same faults,
 * in the same order, at the same offsets, with the same victim picks.
 */
import type { FaultKind } from "./types.js";

/** How many faults of each kind, and how to space them. */
export interface ScheduleOptions {
  /** Seed of the pseudo-random generator (any integer). */
  readonly seed: number;
  /** Faults per kind; kinds left out or 0 are not injected. */
  readonly counts: Readonly<Partial<Record<FaultKind, number>>>;
  /** Offset of the first fault from the start of sending, milliseconds. */
  readonly firstAtMs: number;
  /** Nominal time between faults, milliseconds; each fault is jittered by up to 20 % of it. */
  readonly spacingMs: number;
}

/** One planned fault. */
export interface PlannedFault {
  /** Position in the schedule, from 0. */
  readonly index: number;
  readonly kind: FaultKind;
  /** Offset from the start of sending, milliseconds. */
  readonly atOffsetMs: number;
  /**
   * A number in [0, 1) that picks the victim among the workers running at the time (sorted by
   * id): `floor(pick × count)`. Only used by `kill` and `term`.
   */
  readonly pick: number;
}

/** mulberry32: a small, fast, well-distributed 32-bit generator; returns numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Order in which kinds are listed before shuffling, so that the result depends on the seed only. */
const KIND_ORDER: readonly FaultKind[] = ["kill", "term", "add", "restart-storage", "restart-hub", "detach"];

/** Plans the faults: kinds shuffled by the seed, spaced by `spacingMs` with seeded jitter. */
export function planSchedule(options: ScheduleOptions): PlannedFault[] {
  const random = seededRandom(options.seed);
  const kinds: FaultKind[] = [];
  for (const kind of KIND_ORDER) {
    for (let i = 0; i < (options.counts[kind] ?? 0); i++) kinds.push(kind);
  }
  // Fisher–Yates with the seeded generator.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as FaultKind, kinds[i] as FaultKind];
  }
  return kinds.map((kind, index) => ({
    index,
    kind,
    atOffsetMs: Math.round(
      options.firstAtMs + index * options.spacingMs + random() * options.spacingMs * 0.2,
    ),
    pick: random(),
  }));
}

/** The victim among `running` (sorted by id) that `pick` selects; undefined when none runs. */
export function pickVictim(running: readonly string[], pick: number): string | undefined {
  if (running.length === 0) return undefined;
  const sorted = [...running].sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(pick * sorted.length))];
}

/** Total planned span: the last fault's offset plus one spacing for its failover to settle. */
export function scheduleSpanMs(plan: readonly PlannedFault[], options: ScheduleOptions): number {
  const last = plan[plan.length - 1];
  return last === undefined ? options.firstAtMs : last.atOffsetMs + options.spacingMs;
}
