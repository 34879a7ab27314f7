/**
 * One reader: a server-side sender link streaming a partition log to a client receiver, within
 * the credit the client grants, with events appended later pushed as they arrive.
 */
import type { Sender } from "rhea";
import type { Logger } from "../../observability/logger.js";
import type { ActiveReader } from "../services/readers.js";
import type { PartitionLog } from "../storage/partition-log.js";
import { spliceAnnotations } from "./annotations.js";

/** Read at most this many events from the log per step, so one reader cannot hog the loop. */
const READ_CHUNK = 256;

/** Options of {@link ReaderLink}. */
export interface ReaderLinkOptions {
  /** Emulator-local reader id. */
  id: number;
  /** Hub name. */
  hub: string;
  /** Partition id. */
  partitionId: string;
  /** `com.microsoft:epoch`, or undefined. */
  epoch: number | undefined;
  /** First sequence number to deliver. */
  startSequenceNumber: number;
  /** Whether to add runtime-metric delivery annotations. */
  runtimeMetric: boolean;
  /** Current injected latency in ms (admin fault); 0 = none. */
  latencyMs: () => number;
  /** Logger scoped to this reader. */
  logger: Logger;
}

/** A reader attached to a partition. */
export class ReaderLink implements ActiveReader {
  readonly id: number;
  readonly epoch: number | undefined;
  readonly hub: string;
  readonly partitionId: string;
  private next: number;
  private stopped = false;
  private delayed = false;
  /** Deliveries handed to rhea on this link (written or not). */
  private queued = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly sender: Sender,
    private readonly log: PartitionLog,
    private readonly options: ReaderLinkOptions,
  ) {
    this.id = options.id;
    this.epoch = options.epoch;
    this.hub = options.hub;
    this.partitionId = options.partitionId;
    this.next = options.startSequenceNumber;
  }

  /** Starts listening for appends; deliveries begin once the client grants credit. */
  start(): void {
    this.unsubscribe = this.log.onAppend(() => this.pump());
    this.pump();
  }

  /** Sends as many pending events as the credit and session window allow. */
  pump(): void {
    if (this.stopped || this.delayed) return;
    const latency = this.options.latencyMs();
    if (latency > 0) {
      if (!this.sender.sendable()) return;
      this.delayed = true;
      setTimeout(() => {
        this.delayed = false;
        this.drain();
      }, latency).unref();
      return;
    }
    this.drain();
  }

  /**
   * Credit not yet spoken for. rhea takes credit off a link only when it writes a transfer, and
   * queues deliveries per session in order, so sending by `sendable()` alone would queue past the
   * credit and block every other link of the session behind them.
   */
  private available(): number {
    const link = this.sender as unknown as { credit: number; delivery_count: number };
    // A drain advances delivery_count without transfers; never count those as written sends.
    if (this.queued < link.delivery_count) this.queued = link.delivery_count;
    return link.credit - (this.queued - link.delivery_count);
  }

  private drain(): void {
    const sender = this.sender;
    while (!this.stopped && sender.sendable()) {
      const room = this.available();
      if (room <= 0) return;
      const events = this.log.read(this.next, Math.min(room, READ_CHUNK));
      if (events.length === 0) return;
      const metric = this.options.runtimeMetric ? this.metric() : undefined;
      for (const event of events) {
        // The session's delivery buffer is bounded too (rhea throws when it overflows).
        if (!sender.sendable()) return;
        const payload = spliceAnnotations(
          event.message,
          {
            sequenceNumber: event.sequenceNumber,
            offset: event.offset,
            enqueuedTimeMs: event.enqueuedTimeMs,
            partitionKey: event.partitionKey,
          },
          metric,
        );
        // Format 0 with a Buffer makes rhea send the bytes as they are.
        sender.send(payload, undefined, 0);
        this.queued++;
        this.next = event.sequenceNumber + 1;
      }
    }
  }

  private metric() {
    const info = this.log.info();
    return {
      lastSequenceNumber: info.lastSequenceNumber,
      lastOffset: info.lastOffset,
      lastEnqueuedTimeMs: info.lastEnqueuedTimeMs,
      retrievalTimeMs: Date.now(),
    };
  }

  /** Detaches the link with an AMQP error and stops delivering. */
  detach(condition: string, description: string): void {
    this.options.logger.debug({ condition }, "detaching reader");
    this.stop();
    if (!this.sender.is_closed()) this.sender.close({ condition, description });
  }

  /** Stops delivering (the link is gone or going). */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
