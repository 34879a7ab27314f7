/**
 * Samples the consumer group's checkpoint and ownership blobs every few hundred milliseconds, as
 * the SDK's BlobCheckpointStore writes them: `<namespace>/<hub>/<consumer group>/ownership/<id>`
 * with metadata `ownerid`, and `…/checkpoint/<id>` with metadata `sequencenumber`. One listing
 * with metadata gives both. A failed read (storage restarting) is skipped and counted.
 */
import type { ContainerClient } from "@azure/storage-blob";
import type { Logger } from "../observability/logger.js";
import type { CheckpointSample, OwnershipSample } from "./types.js";

/** Both samples of one read. */
export interface BlobSample {
  readonly checkpoint: CheckpointSample;
  readonly ownership: OwnershipSample;
}

/** Parses listed blobs (name and metadata) into one sample; pure. */
export function parseBlobListing(
  blobs: ReadonlyArray<{ name: string; metadata?: Record<string, string> }>,
  eventHubName: string,
  consumerGroup: string,
  atMs: number,
): BlobSample {
  const infix = `/${eventHubName}/${consumerGroup}/`.toLowerCase();
  const sequenceNumbers: Record<string, number> = {};
  const owners: Record<string, string> = {};
  for (const blob of blobs) {
    const name = blob.name.toLowerCase();
    const at = name.indexOf(infix);
    if (at < 0) continue;
    const [kind, partitionId] = name.slice(at + infix.length).split("/");
    if (partitionId === undefined) continue;
    if (kind === "ownership") owners[partitionId] = blob.metadata?.ownerid ?? "";
    if (kind === "checkpoint") {
      const s = Number(blob.metadata?.sequencenumber);
      if (Number.isFinite(s)) sequenceNumbers[partitionId] = s;
    }
  }
  return { checkpoint: { atMs, sequenceNumbers }, ownership: { atMs, owners } };
}

/** Options of {@link BlobSampler}. */
export interface BlobSamplerOptions {
  readonly container: ContainerClient;
  readonly eventHubName: string;
  readonly consumerGroup: string;
  /** Milliseconds between reads. */
  readonly intervalMs: number;
  readonly logger: Logger;
}

/** The sampling loop; see the module comment. */
export class BlobSampler {
  /** Checkpoint samples, in time order. */
  readonly checkpoints: CheckpointSample[] = [];
  /** Ownership samples, in time order. */
  readonly ownerships: OwnershipSample[] = [];
  /** Reads that failed. */
  failedReads = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: BlobSamplerOptions) {}

  /**
   * Reads once now and records the sample; undefined when the read failed. Reads never overlap:
   * two listings in flight could finish out of order and show a checkpoint moving backwards that
   * never did.
   */
  sampleNow(): Promise<BlobSample | undefined> {
    const next = this.last.then(() => this.read());
    this.last = next;
    return next;
  }

  private async read(): Promise<BlobSample | undefined> {
    const { container, eventHubName, consumerGroup } = this.options;
    try {
      const blobs: Array<{ name: string; metadata?: Record<string, string> }> = [];
      for await (const blob of container.listBlobsFlat({ includeMetadata: true })) blobs.push(blob);
      const sample = parseBlobListing(blobs, eventHubName, consumerGroup, Date.now());
      this.checkpoints.push(sample.checkpoint);
      this.ownerships.push(sample.ownership);
      return sample;
    } catch (err) {
      this.failedReads += 1;
      this.options.logger.debug({ err }, "blob sample failed");
      return undefined;
    }
  }

  /** Starts sampling every `intervalMs`. */
  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sampleNow().then(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs);
      });
    };
    tick();
  }

  /** Stops sampling and waits for a read in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  /** The latest checkpointed sequence number per partition over all samples. */
  latestCheckpoints(): Record<string, number> {
    const latest: Record<string, number> = {};
    for (const sample of this.checkpoints) Object.assign(latest, sample.sequenceNumbers);
    return latest;
  }

  /** Partitions owned by `ownerId` in the latest ownership sample. */
  ownedBy(ownerId: string): string[] {
    const last = this.ownerships[this.ownerships.length - 1];
    if (last === undefined) return [];
    return Object.entries(last.owners)
      .filter(([, owner]) => owner === ownerId)
      .map(([p]) => p)
      .sort((a, b) => Number(a) - Number(b));
  }
}
