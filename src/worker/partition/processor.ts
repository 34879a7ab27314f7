/**
 * The processor of one owned partition, in the order an event meets it:
 *
 * 1. receive — `enqueue` takes an SDK batch, tracks it in the partition's progress and groups it
 *    into units by the ordering strategy's lanes;
 * 2. admit — units enter the window while it has room and the admission allows (ownership-gate.ts:
 *    not while the ownership goes unrenewed); `enqueue` returns once the batch is in and there is
 *    room again, and awaits only while there is not: the SDK awaits `processEvents` before it
 *    fetches the partition's next batch, so this is the backpressure;
 * 3. run — `pump` starts what the scheduler lets start, each unit with its own attempts;
 * 4. complete — a unit's end is recorded in the progress, unless it stopped;
 * 5. checkpoint — the progress writes one through the guarded store when the policy says so.
 *
 * Grouping, window and scheduler are in ordering/scheduler.ts; the loops over runs of an `each`
 * pipeline (3, for such a unit) in each-run.ts. Below the five steps: stop, loss, drain and close.
 */
import type { ReceivedEventData } from "@azure/event-hubs";
import { PartitionLostError } from "../../checkpoint/guarded-store.js";
import { EhwError, toError } from "../../common/errors.js";
import type { Logger } from "../../observability/logger.js";
import { UnitAttempts, type UnitEnd, type UnitOwner, unitOutcome } from "./attempts/attempts.js";
import { EachRuns } from "./each-run.js";
import { LATER } from "./now-or-later.js";
import { type OrderingStrategy, orderingStrategy } from "./ordering/registry.js";
import {
  ChangeNotifier,
  groupIntoUnits,
  OrderingScheduler,
  PartitionWindow,
  type WorkUnit,
} from "./ordering/scheduler.js";
import { PartitionProgress } from "./progress/progress.js";
import type {
  PartitionCloseResult,
  PartitionProcessorOptions,
  PartitionState,
  PartitionStatus,
} from "./types.js";

export type {
  PartitionCloseResult,
  PartitionProcessingOptions,
  PartitionProcessorOptions,
  PartitionState,
  PartitionStatus,
} from "./types.js";

/** One owned partition's processing; see the module comment. */
export class PartitionProcessor {
  private state: PartitionState = "running";
  private readonly logger: Logger;
  private readonly ordering: OrderingStrategy;
  private readonly scheduler: OrderingScheduler<WorkUnit>;
  /** Tracked, completed and checkpointed events: how far the partition is done. */
  private readonly progress: PartitionProgress;
  private readonly abort = new AbortController();
  private readonly clock: () => number;
  private readonly changes = new ChangeNotifier();
  /** Slots taken by queued and running work, and the units waiting to enter. */
  private readonly window: PartitionWindow;
  /** The loops of `each` units now running. */
  private readonly runs: EachRuns;
  /** Runs each unit's attempts to its end. */
  private readonly attempts: UnitAttempts;
  /** Whether `pump` is running, and whether it must look again before it returns. */
  private pumping = false;
  private pumpAgain = false;
  private deadlineAtMs: number | undefined;
  private lostReason: string | undefined;
  private closing: Promise<PartitionCloseResult> | undefined;
  private resolveClosed: () => void = () => {};
  private readonly closed = new Promise<void>((resolve) => {
    this.resolveClosed = resolve;
  });

  constructor(private readonly options: PartitionProcessorOptions) {
    const { processing, identity } = options;
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger.child({ component: "processor", partitionId: identity.partitionId });
    const windowSize = options.windowSize ?? processing.concurrency + 2 * processing.maxBatchSize;
    this.ordering = orderingStrategy(processing.ordering);
    this.scheduler = new OrderingScheduler<WorkUnit>({
      strategy: this.ordering,
      concurrency: processing.concurrency,
      laneOf: (unit) => unit.lane,
    });
    this.window = new PartitionWindow(windowSize, this.scheduler);
    this.progress = new PartitionProgress({
      identity,
      store: options.store,
      checkpointEvery: processing.checkpointEvery,
      checkpointIntervalMs: processing.checkpointIntervalMs,
      maxBatchSize: processing.maxBatchSize,
      checkpointOnCatchUp: processing.checkpointOnCatchUp,
      logger: this.logger,
      clock: this.clock,
      observer: options.observer,
      onNotOwner: () => this.markLost("checkpoint refused: partition not owned"),
    });
    this.attempts = new UnitAttempts({
      options: processing,
      context: {
        base: { ...identity, logger: this.logger },
        signal: this.abort.signal,
        logger: this.logger,
        random: options.random,
        observer: options.observer,
        tracer: options.tracer,
      },
      failureHandler: options.failureHandler,
      isLost: () => this.state === "lost",
    });
    this.runs = new EachRuns(this.attempts, {
      mayStart: () => this.mayStart(),
      started: (events) => this.window.started(events),
      dropped: (events) => this.window.dropped(events),
      eventEnded: (one, end) => this.eventsEnded(one, end),
      runEnded: (unit) => {
        this.scheduler.done(unit);
        this.admit();
        this.changes.notify();
      },
    });
  }

  /** Partition id. */
  get partitionId(): string {
    return this.options.identity.partitionId;
  }

  /** A snapshot for observability. */
  status(): PartitionStatus {
    return {
      partitionId: this.partitionId,
      state: this.state,
      inFlight: this.window.runningEvents,
      queued: this.window.queuedEvents,
      processed: this.progress.processed,
      failed: this.progress.failed,
      lastCheckpoint: this.progress.lastCheckpoint,
      oldestIncompleteEnqueuedTimeMs: this.progress.oldestIncompleteEnqueuedTimeMs,
    };
  }

  /**
   * Accepts a batch from the SDK (sequence order), with the partition's last enqueued sequence
   * number when the SDK tracks it (for lag). Resolves once every event is scheduled and the
   * window has room again. While the partition is stopped it resolves only when the processor
   * closes, so the SDK fetches nothing more; while closing it resolves at once.
   */
  async enqueue(events: ReceivedEventData[], lastEnqueuedSequenceNumber?: number): Promise<void> {
    this.throwIfLost();
    if (this.state === "stopped") {
      await this.closed;
      return this.throwIfLost();
    }
    if (this.state !== "running") return;
    const fresh = this.progress.track(events);
    this.options.observer?.received(fresh.length, this.progress.lastTracked, lastEnqueuedSequenceNumber);
    this.window.hold(groupIntoUnits(fresh, this.options.registry.route, this.ordering));
    this.admit();
    if (!this.window.settled()) await this.changes.until(this.settledOrStopped);
    // Stopped, lost or closing: units not admitted never run, and so are never checkpointed past.
    if (this.state !== "running") this.window.dropHeld();
    this.throwIfLost();
    // The state may have changed while awaiting; TypeScript's narrowing does not know that.
    if ((this.state as PartitionState) === "stopped") await this.closed;
    this.throwIfLost();
  }

  /** What `enqueue` waits for; one function per processor, asked after every event. */
  private readonly settledOrStopped = (): boolean => this.state !== "running" || this.window.settled();

  /**
   * Lets held units into the window while the partition runs, then starts what may start. Called
   * when `enqueue` takes a batch and whenever room frees.
   */
  private admit(): void {
    if (this.state === "running" && (this.options.admission?.mayTakeEvents() ?? true)) this.window.admit();
    this.pump();
  }

  /** The admission may allow again (an ownership renewal succeeded): let held units in. */
  admissionChanged(): void {
    this.admit();
    this.changes.notify();
  }

  /**
   * Starts what the scheduler lets start. A unit may finish synchronously and pump again from
   * within: that call only asks the running one to look again, so pumps never nest.
   */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        if (this.state !== "running" && this.state !== "draining") return;
        for (const unit of this.scheduler.next()) {
          if (unit.each === true) {
            this.runs.start(unit);
            continue;
          }
          this.window.started(unit.events.length);
          const end = this.attempts.run(unit, this.unitOwner);
          if (end !== LATER) this.unitEnded(unit, end);
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** Where units started by `pump` report an asynchronous end; one object per processor. */
  private readonly unitOwner: UnitOwner = {
    settled: (end, unit) => this.unitEnded(unit, end),
  };

  /** A unit started by `pump` ended: its room is free, and what waited for that may go on. */
  private unitEnded(unit: WorkUnit, end: UnitEnd): void {
    this.scheduler.done(unit);
    this.eventsEnded(unit, end);
  }

  /** A unit, or one event of a run, ended: complete, checkpoint when due, let the next ones in. */
  private eventsEnded(unit: WorkUnit, end: UnitEnd): void {
    const complete = this.recordEnd(unit, end);
    this.window.ended(unit.events.length);
    if (complete) this.progress.poke();
    this.admit();
    this.changes.notify();
  }

  /** Records a unit's end (metrics, the stop it asks for, completion); true when it is complete. */
  private recordEnd(unit: WorkUnit, end: UnitEnd): boolean {
    const events = unit.events.length;
    this.options.observer?.unitEnded(unit.pipeline.name, events, unitOutcome(end), end.outcome.attempts);
    if (end.stopWith !== undefined) this.stopPartition(end.stopWith);
    if (this.state === "lost") return end.decision !== "stop";
    if (end.outcome.kind === "exhausted" && end.outcome.attempts > 0) this.progress.countFailed(events);
    if (end.decision === "stop") return false;
    try {
      this.progress.complete(unit.events, end.outcome.kind === "done");
    } catch (err) {
      // Only a broken invariant gets here; stop rather than risk a checkpoint past unfinished work.
      this.logger.error({ err }, "unexpected processor error");
      this.stopPartition(toError(err));
      return false;
    }
    return true;
  }

  /** Whether the next event of a running loop may start. */
  private mayStart(): boolean {
    return (this.state === "running" || this.state === "draining") && !this.abort.signal.aborted;
  }

  /** The failed event's partition: nothing new starts, the queue is dropped, ownership is kept. */
  private stopPartition(error: Error): void {
    if (this.state === "stopped" || this.state === "lost" || this.state === "closed") return;
    this.dropQueued();
    this.setState("stopped");
    this.logger.error(
      { err: error, checkpoint: this.progress.checkpointCandidate() },
      "partition stopped: it keeps its ownership and reads nothing more until the worker stops",
    );
  }

  /**
   * The partition is known to be another worker's (the guarded store found another owner): stop
   * as on OwnershipLost — abort in-flight handlers, drop the queue, write nothing — and make the
   * pending or next `enqueue` throw {@link PartitionLostError}, which closes the SDK's pump with
   * OwnershipLost so that it stops receiving and renewing. Idempotent.
   */
  markLost(reason: string): void {
    if (this.state === "lost") return;
    this.lostReason = reason;
    this.stopAsLost();
    this.closing ??= Promise.resolve({ drained: false, lastCheckpoint: this.progress.lastCheckpoint });
  }

  /** The absolute drain deadline (epoch ms) of a later or running `close("Shutdown")`. */
  setDrainDeadline(atMs: number): void {
    this.deadlineAtMs = atMs;
    this.changes.notify();
  }

  /**
   * Closes the processor (idempotent). `OwnershipLost`: aborts in-flight handlers, drops the queue,
   * marks the partition lost in the store, writes nothing. `Shutdown` (or any other reason): stops
   * accepting, drains in-flight and queued work until the deadline, aborts what is left, and writes
   * a final checkpoint at the candidate, which never passes unfinished work.
   */
  close(reason: string): Promise<PartitionCloseResult> {
    this.closing ??= reason === "OwnershipLost" ? this.closeLost() : this.closeForShutdown();
    return this.closing;
  }

  private async closeLost(): Promise<PartitionCloseResult> {
    this.stopAsLost();
    return { drained: false, lastCheckpoint: this.progress.lastCheckpoint };
  }

  private stopAsLost(): void {
    if (this.state === "lost") return;
    this.options.store.markLost(this.partitionId);
    this.progress.disable();
    this.abort.abort(new EhwError("OWNERSHIP_LOST", `partition ${this.partitionId} was lost`));
    this.dropQueued();
    this.setState("lost");
    this.resolveClosed();
  }

  /** Throws PartitionLostError once the partition is lost, so that `processEvents` rejects. */
  private throwIfLost(): void {
    if (this.state === "lost") throw new PartitionLostError(this.partitionId, this.lostReason ?? "lost");
  }

  private async closeForShutdown(): Promise<PartitionCloseResult> {
    this.deadlineAtMs ??= this.clock() + this.options.drainTimeoutMs;
    if (this.state === "running") this.setState("draining");
    const drained = await this.waitIdleUntilDeadline();
    if (!drained) {
      this.logger.warn(
        { inFlight: this.window.runningEvents, queued: this.window.queuedEvents },
        "drain deadline passed; aborting unfinished events (they are not checkpointed)",
      );
      this.abort.abort(new EhwError("DRAIN_DEADLINE", "the shutdown drain deadline passed"));
      this.dropQueued();
    }
    await this.progress.flush();
    this.progress.disable();
    // Lost while draining: it stays lost (nothing was written after the loss).
    if (this.state !== "lost") this.setState("closed");
    this.resolveClosed();
    return { drained, lastCheckpoint: this.progress.lastCheckpoint };
  }

  private async waitIdleUntilDeadline(): Promise<boolean> {
    while (!this.scheduler.isIdle()) {
      const remaining = (this.deadlineAtMs ?? 0) - this.clock();
      if (remaining <= 0) return false;
      await this.changes.changed(remaining);
    }
    return true;
  }

  /** Drops the queued units and the events running loops have not started. */
  private dropQueued(): void {
    for (const unit of this.scheduler.clearQueued()) this.window.dropped(unit.events.length);
    this.runs.dropUnstarted();
  }

  private setState(state: PartitionState): void {
    this.state = state;
    this.changes.notify();
    this.options.onStateChange?.(this.status());
  }
}
