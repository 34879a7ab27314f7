/**
 * The readers attached to each partition of each consumer group, with epoch arbitration applied
 * on attach, and the bulk detaches the admin fault endpoint asks for.
 */
import { EmulatorProtocolError } from "../errors.js";
import { decideAttach } from "./reader-policy.js";

/** What the registry needs of an attached reader. */
export interface ActiveReader {
  /** Emulator-local id, unique per process. */
  readonly id: number;
  /** `com.microsoft:epoch`, or undefined. */
  readonly epoch: number | undefined;
  /** Hub name as configured. */
  readonly hub: string;
  /** Partition id. */
  readonly partitionId: string;
  /** Detaches the reader's link with an AMQP error condition. */
  detach(condition: string, description: string): void;
}

function slotKey(hub: string, consumerGroup: string, partitionId: string): string {
  return `${hub.toLowerCase()}\n${consumerGroup.toLowerCase()}\n${partitionId}`;
}

/** All attached readers, grouped by hub, consumer group and partition. */
export class ReaderRegistry {
  private readonly slots = new Map<string, Set<ActiveReader>>();

  /**
   * Admits `reader` to its partition and consumer group, detaching the readers it steals from.
   * @throws EmulatorProtocolError (`amqp:link:stolen` or `amqp:resource-limit-exceeded`) when refused.
   */
  admit(reader: ActiveReader, consumerGroup: string): void {
    const key = slotKey(reader.hub, consumerGroup, reader.partitionId);
    const slot = this.slots.get(key) ?? new Set<ActiveReader>();
    const decision = decideAttach([...slot], reader.epoch);
    if (!decision.ok) throw new EmulatorProtocolError(decision.condition, decision.description);
    for (const loser of decision.steal) {
      const victim = [...slot].find((r) => r.id === loser.id);
      if (!victim) continue;
      slot.delete(victim);
      victim.detach(
        "amqp:link:stolen",
        `New receiver with higher epoch of '${String(reader.epoch)}' is created hence current receiver with epoch '${String(victim.epoch)}' is getting disconnected.`,
      );
    }
    slot.add(reader);
    this.slots.set(key, slot);
  }

  /** Forgets `reader` (its link closed). */
  remove(reader: ActiveReader, consumerGroup: string): void {
    const key = slotKey(reader.hub, consumerGroup, reader.partitionId);
    const slot = this.slots.get(key);
    if (!slot) return;
    slot.delete(reader);
    if (slot.size === 0) this.slots.delete(key);
  }

  /** Number of attached readers. */
  count(): number {
    let n = 0;
    for (const slot of this.slots.values()) n += slot.size;
    return n;
  }

  /**
   * Detaches every reader, or only those of `hub` (and `partitionId`, `consumerGroup`), with
   * `condition`. Returns how many were detached.
   */
  detachAll(
    condition: string,
    description: string,
    filter: { hub?: string; partitionId?: string; consumerGroup?: string } = {},
  ): number {
    let n = 0;
    const group = filter.consumerGroup?.toLowerCase();
    for (const [key, slot] of this.slots) {
      if (group !== undefined && key.split("\n")[1] !== group) continue;
      for (const reader of [...slot]) {
        if (filter.hub !== undefined && reader.hub.toLowerCase() !== filter.hub.toLowerCase()) continue;
        if (filter.partitionId !== undefined && reader.partitionId !== filter.partitionId) continue;
        slot.delete(reader);
        reader.detach(condition, description);
        n++;
      }
      if (slot.size === 0) this.slots.delete(key);
    }
    return n;
  }
}
