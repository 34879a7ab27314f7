/**
 * The cooperative hand-over settings of the worker (src/checkpoint/handover.ts): whether a worker
 * asks a live owner for a partition rather than steal it, how long an owner may drain a partition
 * it hands over, and after how long an unanswered request falls back to a steal. One more section
 * of the WorkerConfig, compiled from raw settings that already carry their defaults.
 */
import type { RawWorkerOptions } from "./settings.js";
import { parseBoolean, parseInteger, reject } from "./values.js";

/** The compiled hand-over section of WorkerConfig. */
export interface HandoverConfig {
  /** Ask live owners for partitions, and answer their requests; default true. */
  readonly enabled: boolean;
  /**
   * Milliseconds an owner lets in-flight events of a partition it hands over finish before it
   * aborts them (they are then delivered again); default 10000.
   */
  readonly drainTimeoutMs: number;
  /**
   * Milliseconds after which an unanswered request falls back to a steal (owner frozen, crashed, or
   * a processor that does not take part); default 2 × updateIntervalMs + drainTimeoutMs, the
   * longest a live owner takes to see a request, drain and release.
   */
  readonly timeoutMs: number;
}

/** Compiles the hand-over settings; `raw` has its defaults applied. Throws ConfigError. */
export function compileHandoverConfig(raw: RawWorkerOptions, updateIntervalMs: number): HandoverConfig {
  const enabled = raw.handover === undefined ? true : parseBoolean("handover", raw.handover);
  const drainSetting = raw.handoverDrainTimeoutMs;
  const drainTimeoutMs =
    drainSetting === undefined ? 10_000 : parseInteger("handoverDrainTimeoutMs", drainSetting, 0);
  const minimum = 2 * updateIntervalMs + drainTimeoutMs;
  const timeoutSetting = raw.handoverTimeoutMs;
  if (timeoutSetting === undefined) return { enabled, drainTimeoutMs, timeoutMs: minimum };
  const timeoutMs = parseInteger("handoverTimeoutMs", timeoutSetting, 1);
  if (timeoutMs < updateIntervalMs + drainTimeoutMs) {
    // Shorter than one loop plus the drain, every request to a live owner would end in a steal.
    reject(
      "handoverTimeoutMs",
      timeoutSetting,
      `is too short: at least updateIntervalMs + handoverDrainTimeoutMs = ${updateIntervalMs + drainTimeoutMs} (default ${minimum})`,
    );
  }
  return { enabled, drainTimeoutMs, timeoutMs };
}
