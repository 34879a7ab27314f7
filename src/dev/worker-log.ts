/**
 * What a dev worker's pino log lines say about it, without I/O: partitions claimed and released
 * (lines carrying `partitionId` and `reason`), the periodic `worker status` line, the start of
 * draining, and errors. Lines that are not JSON (a crash's stack trace) are kept as errors only
 * when they come from stderr.
 */

/** One partition in a `worker status` line. */
export interface StatusPartition {
  partitionId: string;
  state: string | undefined;
  inFlight: number | undefined;
  queued: number | undefined;
  processed: number | undefined;
  failed: number | undefined;
  lastCheckpoint: number | undefined;
  /** Enqueued time of the oldest event the worker holds unfinished (ms); null = none; undefined = not said. */
  oldestIncompleteEnqueuedTimeMs?: number | null | undefined;
}

/** What one log line means for the dev view. */
export type WorkerLogEvent =
  | { kind: "status"; state: string | undefined; partitions: StatusPartition[] }
  | { kind: "claimed"; partitionId: string; via: string | undefined }
  | { kind: "released"; partitionId: string; reason: string }
  | { kind: "subscribed" }
  | { kind: "draining" }
  | { kind: "error"; message: string };

/** pino's numeric level of `error`. */
const PINO_ERROR = 50;

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  return typeof value === "number" ? String(value) : undefined;
}

function checkpointOf(value: unknown): number | undefined {
  if (typeof value === "object" && value !== null)
    return num((value as { sequenceNumber?: unknown }).sequenceNumber);
  return num(value);
}

function statusPartitions(value: unknown): StatusPartition[] {
  if (!Array.isArray(value)) return [];
  const result: StatusPartition[] = [];
  for (const item of value) {
    if (typeof item !== "object" || item === null) continue;
    const p = item as Record<string, unknown>;
    const partitionId = str(p.partitionId);
    if (partitionId === undefined) continue;
    result.push({
      partitionId,
      state: str(p.state),
      inFlight: num(p.inFlight),
      queued: num(p.queued),
      processed: num(p.processed),
      failed: num(p.failed),
      lastCheckpoint: checkpointOf(p.lastCheckpoint),
      oldestIncompleteEnqueuedTimeMs:
        p.oldestIncompleteEnqueuedTimeMs === null ? null : num(p.oldestIncompleteEnqueuedTimeMs),
    });
  }
  return result;
}

function errorText(line: Record<string, unknown>): string {
  const msg = str(line.msg) ?? "error";
  const err = line.err;
  const detail =
    typeof err === "object" && err !== null ? str((err as { message?: unknown }).message) : undefined;
  return detail === undefined || detail === "" ? msg : `${msg}: ${detail}`;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Classifies one output line of `ehw run`. Ownership changes are recognised by their fields
 * (`partitionId` with `reason`: "claimed", or the SDK's close reason), not by message wording.
 */
export function parseWorkerLine(text: string, stream: "stdout" | "stderr"): WorkerLogEvent | undefined {
  const trimmed = text.trim();
  const line = parseJson(trimmed);
  if (line === undefined) {
    return stream === "stderr" && trimmed !== "" ? { kind: "error", message: trimmed } : undefined;
  }
  const msg = str(line.msg);
  if (msg === "worker status") {
    return { kind: "status", state: str(line.state), partitions: statusPartitions(line.partitions) };
  }
  const partitionId = str(line.partitionId);
  const reason = str(line.reason);
  if (partitionId !== undefined && reason !== undefined) {
    return reason === "claimed"
      ? { kind: "claimed", partitionId, via: str(line.via) }
      : { kind: "released", partitionId, reason };
  }
  if (msg === "draining") return { kind: "draining" };
  if (msg !== undefined && /subscrib/i.test(msg)) return { kind: "subscribed" };
  const level = num(line.level);
  if (level !== undefined && level >= PINO_ERROR) return { kind: "error", message: errorText(line) };
  return undefined;
}

/** What the log lines have told about one worker so far. */
export interface WorkerLogState {
  /** Whether the worker said it subscribed (or claimed a partition, or reported `running`). */
  subscribed: boolean;
  /** Whether the worker said it is draining. */
  draining: boolean;
  /** Partitions it processes now, by its claim and release lines. */
  partitions: ReadonlySet<string>;
  /** The last `worker status` line, if any arrived. */
  status: { state: string | undefined; partitions: StatusPartition[] } | undefined;
  /** The last error line, for a worker that exited. */
  lastError: string | undefined;
  /** How its latest claim of each partition got it (`via` of the claim line: handover, steal, …). */
  claims: ReadonlyMap<string, string | undefined>;
}

/** The state before the first line. */
export function initialWorkerLogState(): WorkerLogState {
  return {
    subscribed: false,
    draining: false,
    partitions: new Set(),
    status: undefined,
    lastError: undefined,
    claims: new Map(),
  };
}

/** The state after `event`; the input is not changed. */
export function applyWorkerLogEvent(state: WorkerLogState, event: WorkerLogEvent): WorkerLogState {
  switch (event.kind) {
    case "status": {
      // The status line is a full snapshot: it replaces what claim/release lines said.
      const partitions = new Set(event.partitions.map((p) => p.partitionId));
      const running = event.state === "running";
      return {
        ...state,
        subscribed: state.subscribed || running,
        draining: state.draining || event.state === "draining",
        partitions,
        status: { state: event.state, partitions: event.partitions },
      };
    }
    case "claimed":
      return {
        ...state,
        subscribed: true,
        partitions: new Set([...state.partitions, event.partitionId]),
        claims: new Map(state.claims).set(event.partitionId, event.via),
      };
    case "released": {
      const partitions = new Set(state.partitions);
      partitions.delete(event.partitionId);
      return { ...state, partitions };
    }
    case "subscribed":
      return { ...state, subscribed: true };
    case "draining":
      return { ...state, draining: true };
    case "error":
      return { ...state, lastError: event.message };
  }
}
