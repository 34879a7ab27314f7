/**
 * Who may read a partition of a consumer group: epoch (owner level) arbitration and the limit on
 * non-epoch readers, as pure decisions the transport acts on.
 */

/** The most non-epoch readers one partition of one consumer group may have, as on the service. */
export const MAX_NON_EPOCH_READERS = 5;

/** A reader already attached to the partition and consumer group. */
export interface ReaderSlot {
  /** Emulator-local reader id. */
  id: number;
  /** Its `com.microsoft:epoch`, or undefined for a non-epoch reader. */
  epoch: number | undefined;
}

/** Outcome of {@link decideAttach}. */
export type AttachDecision =
  /** Accept the new reader after detaching `steal` with `amqp:link:stolen`. */
  | { ok: true; steal: ReaderSlot[] }
  /** Refuse the new reader with this condition. */
  | { ok: false; condition: string; description: string };

/**
 * Decides whether a reader with `epoch` may join `existing`. An epoch greater than or equal to the
 * highest present takes the partition over (every other reader is stolen); a lower epoch, or no
 * epoch while an epoch reader holds the partition, is refused with `amqp:link:stolen`; a sixth
 * non-epoch reader is refused with `amqp:resource-limit-exceeded`.
 */
export function decideAttach(
  existing: readonly ReaderSlot[],
  epoch: number | undefined,
  maxNonEpochReaders = MAX_NON_EPOCH_READERS,
): AttachDecision {
  let highest: number | undefined;
  for (const slot of existing) {
    if (slot.epoch !== undefined && (highest === undefined || slot.epoch > highest)) highest = slot.epoch;
  }
  if (epoch !== undefined) {
    if (highest !== undefined && epoch < highest) {
      return {
        ok: false,
        condition: "amqp:link:stolen",
        description: `a receiver with a higher epoch '${highest}' already exists; epoch '${epoch}' cannot be used`,
      };
    }
    return { ok: true, steal: [...existing] };
  }
  if (highest !== undefined) {
    return {
      ok: false,
      condition: "amqp:link:stolen",
      description: `a receiver with epoch '${highest}' already exists; a non-epoch receiver cannot be created`,
    };
  }
  if (existing.length >= maxNonEpochReaders) {
    return {
      ok: false,
      condition: "amqp:resource-limit-exceeded",
      description: `at most ${maxNonEpochReaders} non-epoch receivers are allowed per partition and consumer group`,
    };
  }
  return { ok: true, steal: [] };
}
