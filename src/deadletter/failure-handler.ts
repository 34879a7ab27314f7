/**
 * The FailureHandler that applies each pipeline's failure policy to an exhausted unit:
 * `deadletter` writes one document per event and only then answers "resolved" (so a checkpoint can
 * never pass an event that is neither handled nor stored); a write that keeps failing is retried
 * with backoff until its budget is spent or the signal fires, and then the partition stops — an
 * event is never skipped silently. `skip` logs at warn, counts, and answers "skipped". `stop`
 * answers "stop".
 */
import { EhwError, toError } from "../common/errors.js";
import { backoffDelayMs, sleep } from "../common/retry.js";
import { type CompiledPipelineSpec, DEFAULT_FAILURE_POLICY, type FailurePolicy } from "../config/handlers.js";
import type { ExhaustedEvent, FailureDecision, FailureHandler } from "../handlers/failure.js";
import type { Logger } from "../observability/logger.js";
import { buildDeadLetterDocument, type DeadLetterDocument } from "./document.js";

/** Where documents go; {@link DeadLetterStore} is one. */
export interface DeadLetterWriter {
  /** Writes one document and returns its blob name; rejects when it was not written. */
  write(doc: DeadLetterDocument, signal?: AbortSignal): Promise<string>;
}

/** Counts of what the policies did, per event. */
export interface FailureStats {
  /** Events written to the dead-letter container. */
  deadLettered: number;
  /** Events skipped by a `skip` policy. */
  skipped: number;
  /** Events whose partition stopped (policy `stop`, or a dead-letter write that never succeeded). */
  stopped: number;
  /** Dead-letter write attempts that failed (each retry counts). */
  writeFailures: number;
}

/** What one exhausted unit ended as; passed to {@link PolicyFailureHandlerOptions.onOutcome}. */
export interface FailureOutcome {
  readonly pipeline: string;
  readonly partitionId: string;
  readonly policy: FailurePolicy;
  /** Events of the unit. */
  readonly eventCount: number;
  readonly decision: FailureDecision;
  /** Blob names written (policy `deadletter`). */
  readonly blobNames: readonly string[];
}

/** Options of {@link policyFailureHandler}. */
export interface PolicyFailureHandlerOptions {
  /** The compiled pipelines; a pipeline missing here gets the default policy (`deadletter`). */
  readonly pipelines: readonly CompiledPipelineSpec[];
  /** Where `deadletter` writes; required when any pipeline uses it (checked at creation). */
  readonly writer: DeadLetterWriter | undefined;
  /** Hub the worker reads. */
  readonly eventHubName: string;
  /** Consumer group the worker reads as. */
  readonly consumerGroup: string;
  /** Logger; lines carry `component: "deadletter"`. */
  readonly logger: Logger;
  /** Write attempts per document, first included; default 6, ≥ 1. */
  readonly writeAttempts?: number;
  /** Backoff scale between write attempts, milliseconds; default 500. */
  readonly writeBaseDelayMs?: number;
  /** Upper bound of a write backoff, milliseconds; default 10000. */
  readonly writeMaxDelayMs?: number;
  /** Ends write retries at once (worker stopping); combined with the unit's own signal. */
  readonly signal?: AbortSignal;
  /** Epoch milliseconds; default Date.now. */
  readonly clock?: () => number;
  /** Uniform random source for backoff jitter; default Math.random. */
  readonly random?: () => number;
  /** Called once per exhausted unit with what happened (metrics hook). */
  readonly onOutcome?: (outcome: FailureOutcome) => void;
}

/** A FailureHandler choosing by the unit's pipeline policy, with counts. */
export interface PolicyFailureHandler extends FailureHandler {
  /** A copy of the counts so far. */
  stats(): FailureStats;
}

/** The policy of a pipeline by name; pure. Unknown names get {@link DEFAULT_FAILURE_POLICY}. */
export function failurePolicyOf(pipelines: readonly CompiledPipelineSpec[], name: string): FailurePolicy {
  return pipelines.find((p) => p.name === name)?.onFailure ?? DEFAULT_FAILURE_POLICY;
}

/** Whether any pipeline needs a dead-letter writer. */
export function usesDeadLetter(pipelines: readonly CompiledPipelineSpec[]): boolean {
  return pipelines.some((p) => (p.onFailure ?? DEFAULT_FAILURE_POLICY) === "deadletter");
}

/** Builds the handler; see the module comment. */
export function policyFailureHandler(options: PolicyFailureHandlerOptions): PolicyFailureHandler {
  if (options.writer === undefined && usesDeadLetter(options.pipelines)) {
    throw new EhwError(
      "DEADLETTER_MISCONFIGURED",
      "a pipeline uses the deadletter failure policy but no dead-letter store was given",
    );
  }
  return new PolicyFailures(options);
}

class PolicyFailures implements PolicyFailureHandler {
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly counts: FailureStats = { deadLettered: 0, skipped: 0, stopped: 0, writeFailures: 0 };

  constructor(private readonly options: PolicyFailureHandlerOptions) {
    this.logger = options.logger.child({ component: "deadletter" });
    this.clock = options.clock ?? Date.now;
  }

  stats(): FailureStats {
    return { ...this.counts };
  }

  async onExhausted(failure: ExhaustedEvent): Promise<FailureDecision> {
    const outcome = await this.decide(failure, failurePolicyOf(this.options.pipelines, failure.pipeline));
    try {
      this.options.onOutcome?.(outcome);
    } catch (err) {
      // A broken metrics hook must not turn a stored event into a stopped partition.
      this.logger.error({ err }, "failure outcome hook threw");
    }
    return outcome.decision;
  }

  private async decide(failure: ExhaustedEvent, policy: FailurePolicy): Promise<FailureOutcome> {
    const { partitionId, pipeline, events, error, attempts } = failure;
    const eventCount = events.length;
    const where = {
      partitionId,
      pipeline,
      policy,
      sequenceNumber: failure.event.sequenceNumber,
      eventCount,
      attempts,
    };
    const outcome = { pipeline, partitionId, policy, eventCount };
    if (policy === "skip") {
      this.counts.skipped += eventCount;
      this.logger.warn({ ...where, err: error }, "event failed after its last attempt; skipped by policy");
      return { ...outcome, decision: "skipped", blobNames: [] };
    }
    if (policy === "stop") {
      this.counts.stopped += eventCount;
      this.logger.error(
        { ...where, err: error },
        "event failed after its last attempt; policy stops the partition",
      );
      return { ...outcome, decision: "stop", blobNames: [] };
    }
    try {
      const blobNames = await this.deadLetter(failure);
      this.counts.deadLettered += eventCount;
      failure.onStored?.(blobNames);
      this.logger.warn(
        { ...where, err: error, blobNames },
        "event failed after its last attempt; dead-lettered",
      );
      return { ...outcome, decision: "resolved", blobNames };
    } catch (writeError) {
      this.counts.stopped += eventCount;
      this.logger.error(
        { ...where, err: error, writeError: toError(writeError) },
        "dead-letter write failed; partition stops (no checkpoint past this event)",
      );
      return { ...outcome, decision: "stop", blobNames: [] };
    }
  }

  /** Writes one document per event of the unit, in sequence order; rejects if any is not written. */
  private async deadLetter(failure: ExhaustedEvent): Promise<string[]> {
    const signals = [this.options.signal, failure.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 0 ? undefined : AbortSignal.any(signals);
    const deadLetteredAtMs = this.clock();
    const first = failure.events[0] ?? failure.event;
    const unit = { firstSequenceNumber: first.sequenceNumber, eventCount: failure.events.length };
    const names: string[] = [];
    // One at a time: a batch unit is at most one receive batch, and order keeps names predictable.
    for (const event of failure.events) {
      const doc = buildDeadLetterDocument(event, {
        eventHubName: this.options.eventHubName,
        consumerGroup: this.options.consumerGroup,
        partitionId: failure.partitionId,
        pipeline: failure.pipeline,
        attempts: failure.attempts,
        error: failure.error,
        deadLetteredAtMs,
        unit,
      });
      names.push(await this.writeWithRetries(doc, signal));
    }
    return names;
  }

  /** Retries a failing write with backoff until the budget is spent, the error says it cannot help, or the signal fires. */
  private async writeWithRetries(doc: DeadLetterDocument, signal: AbortSignal | undefined): Promise<string> {
    const { options } = this;
    const attempts = Math.max(1, options.writeAttempts ?? 6);
    const backoff = {
      baseDelayMs: options.writeBaseDelayMs ?? 500,
      maxDelayMs: options.writeMaxDelayMs ?? 10_000,
    };
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      try {
        return await (options.writer as DeadLetterWriter).write(doc, signal);
      } catch (err) {
        this.counts.writeFailures += 1;
        const error = toError(err);
        const retriable = !(error instanceof EhwError) || error.retriable;
        if (signal?.aborted || !retriable || attempt >= attempts) throw error;
        const delayMs = backoffDelayMs(attempt, backoff, options.random);
        this.logger.warn(
          { partitionId: doc.partitionId, sequenceNumber: doc.sequenceNumber, attempt, delayMs, err: error },
          "dead-letter write failed; retrying",
        );
        await sleep(delayMs, signal);
      }
    }
  }
}
