/**
 * Hubs and their partitions: the registry the transport looks addresses up in, runtime hub
 * creation, and (with a data directory) a manifest so hubs created at runtime survive a restart.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../common/errors.js";
import type { Logger } from "../../observability/logger.js";
import type { HubSpec } from "../config.js";
import { EmulatorProtocolError } from "../errors.js";
import { PartitionLog } from "../storage/partition-log.js";
import { partitionIndexForKey } from "./partition-key.js";

/** Options of {@link HubRegistry.open}. */
export interface HubRegistryOptions {
  /** Persistence directory; undefined keeps everything in memory. */
  dataDir: string | undefined;
  /** Per-partition event-count retention; undefined = unlimited. */
  retentionEvents: number | undefined;
  /** Per-partition age retention in ms; undefined = unlimited. */
  retentionMs: number | undefined;
  /** Logger, already scoped by the caller. */
  logger: Logger;
}

/** One hub: its shape, creation time and one log per partition. */
export class Hub {
  /** Partition logs by index; partition id n is `partitions[n]`. */
  readonly partitions: PartitionLog[];
  private nextPartition = 0;

  /** The hub's validated shape; its own copy, since a consumer group may be deleted at runtime. */
  readonly spec: HubSpec;

  constructor(
    spec: HubSpec,
    /** Creation time, ms since the Unix epoch (management `created_at`). */
    readonly createdAtMs: number,
    partitions: PartitionLog[],
  ) {
    this.spec = { ...spec, consumerGroups: [...spec.consumerGroups] };
    this.partitions = partitions;
  }

  /** The hub's name as configured. */
  get name(): string {
    return this.spec.name;
  }

  /** Whether `group` is one of the hub's consumer groups (case-insensitive, as the service). */
  hasConsumerGroup(group: string): boolean {
    const lower = group.toLowerCase();
    return this.spec.consumerGroups.some((g) => g.toLowerCase() === lower);
  }

  /** Removes `group` (case-insensitive); false when the hub has no such group. `$Default` stays. */
  removeConsumerGroup(group: string): boolean {
    const lower = group.toLowerCase();
    const index = this.spec.consumerGroups.findIndex((g) => g.toLowerCase() === lower);
    if (index < 0) return false;
    this.spec.consumerGroups.splice(index, 1);
    return true;
  }

  /** The partition a send to the hub itself lands in: the key's hash, else round robin. */
  pickPartition(partitionKey: string | undefined): number {
    if (partitionKey !== undefined) return partitionIndexForKey(partitionKey, this.partitions.length);
    const index = this.nextPartition;
    this.nextPartition = (index + 1) % this.partitions.length;
    return index;
  }

  /** Whether `other` describes the same hub shape (for idempotent creation). */
  sameShape(other: HubSpec): boolean {
    const groups = (list: string[]) =>
      list
        .map((g) => g.toLowerCase())
        .sort()
        .join(",");
    return (
      other.partitionCount === this.spec.partitionCount &&
      groups(other.consumerGroups) === groups(this.spec.consumerGroups)
    );
  }
}

interface ManifestEntry {
  name: string;
  partitionCount: number;
  consumerGroups: string[];
  createdAtMs: number;
}

const MANIFEST_FILE = "hubs.json";

/** All hubs of the emulated namespace. Names are case-insensitive, as on the service. */
export class HubRegistry {
  private readonly hubs = new Map<string, Hub>();

  private constructor(private readonly options: HubRegistryOptions) {}

  /** Opens the registry: hubs from the manifest (when persistent), then `initial` hubs. */
  static open(initial: readonly HubSpec[], options: HubRegistryOptions): HubRegistry {
    const registry = new HubRegistry(options);
    for (const entry of registry.readManifest()) {
      const { createdAtMs, ...spec } = entry;
      registry.hubs.set(spec.name.toLowerCase(), registry.build(spec, createdAtMs));
    }
    for (const spec of initial) {
      const existing = registry.get(spec.name);
      if (existing && !existing.sameShape(spec)) {
        throw new ConfigError(
          `hub '${spec.name}' exists in the data directory with ${existing.spec.partitionCount} partitions and consumer groups ${existing.spec.consumerGroups.join(",")}; the configuration asks for a different shape`,
          { context: { setting: "hubs" } },
        );
      }
      if (!existing) registry.create(spec);
    }
    return registry;
  }

  /** The hub named `name`, or undefined. */
  get(name: string): Hub | undefined {
    return this.hubs.get(name.toLowerCase());
  }

  /** Every hub, in creation order. */
  list(): Hub[] {
    return [...this.hubs.values()];
  }

  /**
   * Creates a hub, or returns the existing one when it has the same shape (`created` false).
   * @throws EmulatorProtocolError `com.microsoft:entity-already-exists` when it exists with another shape.
   */
  create(spec: HubSpec): { hub: Hub; created: boolean } {
    const existing = this.get(spec.name);
    if (existing) {
      if (existing.sameShape(spec)) return { hub: existing, created: false };
      throw new EmulatorProtocolError(
        "com.microsoft:entity-already-exists",
        `hub '${spec.name}' already exists with ${existing.spec.partitionCount} partitions and consumer groups ${existing.spec.consumerGroups.join(",")}`,
      );
    }
    const hub = this.build(spec, Date.now());
    this.hubs.set(spec.name.toLowerCase(), hub);
    this.writeManifest();
    this.options.logger.info({ hub: spec.name, partitionCount: spec.partitionCount }, "hub created");
    return { hub, created: true };
  }

  /**
   * Deletes a consumer group of a hub, as the service's management API does; the manifest keeps
   * the change across restarts. Returns false when the hub or the group does not exist.
   * @throws EmulatorProtocolError `amqp:not-allowed` for `$Default`, which every hub keeps.
   */
  deleteConsumerGroup(hubName: string, group: string): boolean {
    const hub = this.get(hubName);
    if (hub === undefined) return false;
    if (group.toLowerCase() === "$default") {
      throw new EmulatorProtocolError("amqp:not-allowed", "the $Default consumer group cannot be deleted");
    }
    if (!hub.removeConsumerGroup(group)) return false;
    this.writeManifest();
    this.options.logger.info({ hub: hub.name, consumerGroup: group }, "consumer group deleted");
    return true;
  }

  /** Applies retention to every partition; returns the number of events dropped. */
  applyRetention(): number {
    let dropped = 0;
    for (const hub of this.hubs.values()) for (const log of hub.partitions) dropped += log.applyRetention();
    return dropped;
  }

  /** Approximate bytes held in memory by all partition logs. */
  memoryBytes(): number {
    let bytes = 0;
    for (const hub of this.hubs.values()) for (const log of hub.partitions) bytes += log.memoryBytes();
    return bytes;
  }

  /** Closes every partition log (flushing persistent ones). */
  close(): void {
    for (const hub of this.hubs.values()) for (const log of hub.partitions) log.close();
  }

  private build(spec: HubSpec, createdAtMs: number): Hub {
    const partitions: PartitionLog[] = [];
    for (let i = 0; i < spec.partitionCount; i++) {
      partitions.push(
        PartitionLog.open({
          retentionEvents: this.options.retentionEvents,
          retentionMs: this.options.retentionMs,
          dataDir:
            this.options.dataDir === undefined
              ? undefined
              : join(this.options.dataDir, "hubs", spec.name.toLowerCase(), String(i)),
        }),
      );
    }
    return new Hub(spec, createdAtMs, partitions);
  }

  private readManifest(): ManifestEntry[] {
    if (this.options.dataDir === undefined) return [];
    const path = join(this.options.dataDir, MANIFEST_FILE);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new ConfigError(`cannot read the hub manifest ${path}`, {
        cause: err,
        context: { setting: "dataDir" },
      });
    }
    try {
      const entries = JSON.parse(text) as ManifestEntry[];
      if (!Array.isArray(entries)) throw new TypeError("manifest is not an array");
      return entries;
    } catch (err) {
      throw new ConfigError(`the hub manifest ${path} is corrupt`, {
        cause: err,
        context: { setting: "dataDir" },
      });
    }
  }

  private writeManifest(): void {
    if (this.options.dataDir === undefined) return;
    mkdirSync(this.options.dataDir, { recursive: true });
    const entries: ManifestEntry[] = this.list().map((hub) => ({
      ...hub.spec,
      createdAtMs: hub.createdAtMs,
    }));
    const path = join(this.options.dataDir, MANIFEST_FILE);
    // Write-then-rename so a crash never leaves a half-written manifest behind.
    writeFileSync(`${path}.tmp`, `${JSON.stringify(entries, null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
  }
}
