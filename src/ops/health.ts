/**
 * Liveness and readiness of one worker process, as `/healthz` and `/readyz` answer them.
 *
 * Liveness: the process answers and its event loop is not stalled. A loop that is blocked right now
 * cannot answer at all (the probe times out, which probes count as a failure); what the check adds
 * is the recent past: a timer that should fire every `checkIntervalMs` measures how late it ran, and
 * a delay above `stallThresholdMs` keeps liveness failing for `stallReportMs`, so a periodic probe
 * sees a stall that ended just before it arrived.
 *
 * Readiness: the worker is `running`, its Event Hubs client can read the hub's properties, the
 * checkpoint container answers, and no partition's receiver was lately refused with not-found (a
 * consumer group deleted under the worker: the hub still reads fine, but nothing is received, and
 * the worker says so in its status). Both probes are cached for `probeCacheMs` and shared by concurrent
 * requests, so frequent readiness probes do not hammer Event Hubs or storage.
 */
import { toError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";
import type { EntityNotFoundStatus, WorkerState } from "../worker/lifecycle.js";

/** The answer of a health check: `ok`, and why not. */
export interface HealthReport {
  readonly ok: boolean;
  /** "ok", "stalled" (liveness) or "not ready" (readiness). */
  readonly status: "ok" | "stalled" | "not ready";
  /** Human-readable reasons; empty when ok. */
  readonly reasons: readonly string[];
}

/** What the liveness decision needs. */
export interface LivenessInput {
  /** Now, epoch milliseconds. */
  readonly nowMs: number;
  /** When the loop timer last ran, epoch milliseconds. */
  readonly lastTickAtMs: number;
  /** The loop timer's period, milliseconds. */
  readonly checkIntervalMs: number;
  /** A delay above this many milliseconds is a stall. */
  readonly stallThresholdMs: number;
  /** How long a past stall keeps liveness failing, milliseconds. */
  readonly stallReportMs: number;
  /** The last stall seen by the timer: when it ended and how long the loop was late. */
  readonly lastStall: { readonly atMs: number; readonly delayMs: number } | undefined;
}

/** Liveness: not stalled now (the timer is not overdue) and no stall reported recently. */
export function decideLiveness(input: LivenessInput): HealthReport {
  const reasons: string[] = [];
  const overdueMs = input.nowMs - input.lastTickAtMs - input.checkIntervalMs;
  if (overdueMs > input.stallThresholdMs) {
    reasons.push(`event loop timer overdue by ${Math.round(overdueMs)} ms`);
  }
  const stall = input.lastStall;
  if (stall !== undefined && input.nowMs - stall.atMs < input.stallReportMs) {
    const agoMs = Math.round(input.nowMs - stall.atMs);
    reasons.push(`event loop stalled for ${Math.round(stall.delayMs)} ms, ${agoMs} ms ago`);
  }
  return reasons.length === 0 ? OK : { ok: false, status: "stalled", reasons };
}

/** The outcome of one readiness probe. */
export interface ProbeResult {
  readonly ok: boolean;
  /** When the probe finished, epoch milliseconds. */
  readonly atMs: number;
  /** Why it failed (error code or name and a redacted message). */
  readonly error?: string;
}

/** What the readiness decision needs. */
export interface ReadinessInput {
  readonly state: WorkerState;
  /** Result of reading the hub's properties; undefined when not probed (worker not running). */
  readonly eventHub?: ProbeResult;
  /** Result of checking the checkpoint container; undefined when not probed. */
  readonly checkpointStore?: ProbeResult;
  /** Partitions lately refused with not-found, as the worker's status reports them. */
  readonly entityNotFound?: EntityNotFoundStatus;
  /** The consumer group and hub, to name them in the reason. */
  readonly consumerGroup?: string;
  readonly eventHubName?: string;
  /** Now, epoch milliseconds (how long ago the last refusal was); default Date.now. */
  readonly nowMs?: number;
}

/** Readiness: running, hub readable, checkpoint container reachable, no receiver refused as not found. */
export function decideReadiness(input: ReadinessInput): HealthReport {
  const reasons: string[] = [];
  if (input.state !== "running") reasons.push(`worker is ${input.state}`);
  if (input.eventHub !== undefined && !input.eventHub.ok) {
    reasons.push(`event hub not readable: ${input.eventHub.error ?? "unknown error"}`);
  }
  if (input.checkpointStore !== undefined && !input.checkpointStore.ok) {
    reasons.push(`checkpoint container not reachable: ${input.checkpointStore.error ?? "unknown error"}`);
  }
  const notFound = input.entityNotFound;
  if (notFound !== undefined) {
    const agoMs = Math.max(0, Math.round((input.nowMs ?? Date.now()) - notFound.lastSeenAtMs));
    reasons.push(
      `receivers of partitions ${notFound.partitionIds.join(", ")} keep being refused with MessagingEntityNotFoundError ` +
        `(last ${agoMs} ms ago): consumer group "${input.consumerGroup ?? "?"}" of event hub "${input.eventHubName ?? "?"}" ` +
        "does not exist (deleted?); create it again or point the worker at an existing one",
    );
  }
  return reasons.length === 0 ? OK : { ok: false, status: "not ready", reasons };
}

const OK: HealthReport = { ok: true, status: "ok", reasons: [] };

/** The part of the worker's status readiness reads (`WorkerStatus` has it all). */
export interface ReadinessStatus {
  readonly state: WorkerState;
  readonly entityNotFound?: EntityNotFoundStatus;
  readonly consumerGroup?: string;
  readonly eventHubName?: string;
}

/** What readiness asks of the worker. */
export interface ReadinessSource {
  /** The worker's lifecycle state, and what it knows of refused receivers. */
  status(): ReadinessStatus;
  /** Reads the hub's properties through the worker's client; rejects when it cannot. */
  probeEventHub(signal: AbortSignal): Promise<unknown>;
  /** Checks that the checkpoint container answers; rejects when it does not. */
  probeCheckpointStore(signal: AbortSignal): Promise<unknown>;
}

/** Options of {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  /** The worker whose readiness is reported. */
  readonly source: ReadinessSource;
  /** An event loop delay above this many milliseconds is a stall; default 5000. */
  readonly stallThresholdMs?: number;
  /** Period of the loop timer, milliseconds; default 500. */
  readonly checkIntervalMs?: number;
  /** Milliseconds a past stall keeps liveness failing; default 10000. */
  readonly stallReportMs?: number;
  /** Milliseconds a readiness probe result is reused; default 5000. */
  readonly probeCacheMs?: number;
  /** Milliseconds one readiness probe may take before it counts as failed; default 3000. */
  readonly probeTimeoutMs?: number;
  /** Epoch milliseconds; default Date.now. */
  readonly clock?: () => number;
}

/** Liveness and readiness of one worker; `start()` arms the loop timer, `stop()` clears it. */
export class HealthMonitor {
  private readonly clock: () => number;
  private readonly stallThresholdMs: number;
  private readonly checkIntervalMs: number;
  private readonly stallReportMs: number;
  private readonly eventHubProbe: CachedProbe;
  private readonly storeProbe: CachedProbe;
  private timer: NodeJS.Timeout | undefined;
  private lastTickAtMs: number;
  private lastStall: { atMs: number; delayMs: number } | undefined;

  constructor(private readonly options: HealthMonitorOptions) {
    this.clock = options.clock ?? Date.now;
    this.stallThresholdMs = options.stallThresholdMs ?? 5000;
    this.checkIntervalMs = options.checkIntervalMs ?? 500;
    this.stallReportMs = options.stallReportMs ?? 10_000;
    const cache = { cacheMs: options.probeCacheMs ?? 5000, timeoutMs: options.probeTimeoutMs ?? 3000 };
    const { source } = options;
    this.eventHubProbe = new CachedProbe((signal) => source.probeEventHub(signal), cache, this.clock);
    this.storeProbe = new CachedProbe((signal) => source.probeCheckpointStore(signal), cache, this.clock);
    this.lastTickAtMs = this.clock();
  }

  /** Arms the loop timer (unref'd: it never holds the process open). Idempotent. */
  start(): void {
    if (this.timer !== undefined) return;
    this.lastTickAtMs = this.clock();
    this.timer = setInterval(() => this.tick(), this.checkIntervalMs);
    this.timer.unref();
  }

  /** Clears the loop timer. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One run of the loop timer: how late it is. Exposed so tests can drive it with a fake clock.
   * @internal
   */
  tick(): void {
    const now = this.clock();
    const delayMs = now - this.lastTickAtMs - this.checkIntervalMs;
    if (delayMs > this.stallThresholdMs) this.lastStall = { atMs: now, delayMs };
    this.lastTickAtMs = now;
  }

  /** The `/healthz` answer. */
  liveness(): HealthReport {
    // Without the timer (not started) only a recorded stall can fail liveness.
    const lastTickAtMs = this.timer === undefined ? this.clock() : this.lastTickAtMs;
    return decideLiveness({
      nowMs: this.clock(),
      lastTickAtMs,
      checkIntervalMs: this.checkIntervalMs,
      stallThresholdMs: this.stallThresholdMs,
      stallReportMs: this.stallReportMs,
      lastStall: this.lastStall,
    });
  }

  /** The `/readyz` answer; probes the hub and storage only while the worker is running. */
  async readiness(): Promise<HealthReport> {
    const { state } = this.options.source.status();
    if (state !== "running") return decideReadiness({ state });
    const [eventHub, checkpointStore] = await Promise.all([this.eventHubProbe.get(), this.storeProbe.get()]);
    // The state may have changed while probing; report the newer one.
    const status = this.options.source.status();
    return decideReadiness({
      state: status.state,
      eventHub,
      checkpointStore,
      entityNotFound: status.entityNotFound,
      consumerGroup: status.consumerGroup,
      eventHubName: status.eventHubName,
      nowMs: this.clock(),
    });
  }
}

/** A probe whose result is reused for `cacheMs`; concurrent callers share one run. */
export class CachedProbe {
  private last: ProbeResult | undefined;
  private running: Promise<ProbeResult> | undefined;

  constructor(
    private readonly probe: (signal: AbortSignal) => Promise<unknown>,
    private readonly options: { readonly cacheMs: number; readonly timeoutMs: number },
    private readonly clock: () => number = Date.now,
  ) {}

  /** The cached result when fresh, else a new probe's. Never rejects. */
  get(): Promise<ProbeResult> {
    const last = this.last;
    if (last !== undefined && this.clock() - last.atMs < this.options.cacheMs) return Promise.resolve(last);
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<ProbeResult> {
    let result: ProbeResult;
    try {
      await this.probe(AbortSignal.timeout(this.options.timeoutMs));
      result = { ok: true, atMs: this.clock() };
    } catch (err) {
      result = { ok: false, atMs: this.clock(), error: describeProbeError(err) };
    }
    this.last = result;
    return result;
  }
}

/** `<code or name>: <message>`, secrets removed, for a readiness reason. */
export function describeProbeError(err: unknown): string {
  const error = toError(err);
  const code = (error as { code?: unknown }).code;
  const label = typeof code === "string" && code !== "" ? code : error.name;
  return `${label}: ${redactSecrets(error.message).slice(0, 300)}`;
}
