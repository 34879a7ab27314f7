/**
 * The `ehw run` command line of one dev worker, without I/O: where it connects, who it is, which
 * handler it runs, and load-balancing timing tuned so that failover is visible within seconds.
 */
import { join } from "node:path";
import { SETTINGS } from "../config/worker.js";

/** Checkpoint container every dev worker shares. */
export const DEV_CONTAINER_NAME = "ehw-dev";

/**
 * Load-balancing and retry timing of dev workers. The SDK's defaults (10 s loop, 60 s expiry,
 * 30 s reconnect delay) would make a killed worker's partitions sit idle for a minute; these keep
 * expiry at 5 × the loop interval (the config requires ≥ 3 ×) and take over within ~12 s.
 */
export const DEV_WORKER_TIMING = {
  strategy: "greedy",
  updateIntervalMs: 2000,
  ownershipExpirationMs: 10_000,
  retryDelayMs: 200,
  /** A graceful stop should finish well inside the supervisor's SIGKILL deadline. */
  drainTimeoutMs: 5000,
} as const;

/** Milliseconds between `worker status` lines requested from workers that support them. */
export const STATUS_INTERVAL_MS = 1000;

/** Flag of the periodic status line of `ehw run`; not every version has it. */
const STATUS_FLAG = "--status-interval-ms";

/** Everything that varies between dev workers and runs. */
export interface DevWorkerArgsInput {
  /** Owner id, e.g. "worker-1". */
  ownerId: string;
  /** Event Hubs namespace connection string (no EntityPath). */
  eventHubConnectionString: string;
  /** Event hub name. */
  hub: string;
  /** Storage connection string. */
  storageConnectionString: string;
  /** Data directory of the dev stack; the ledger goes to `<dataDir>/ledger/<ownerId>.jsonl`. */
  dataDir: string;
  /** "ledger" (ledger file per worker), "log", or a module path or package name. */
  handler: string;
  /** Completed events between checkpoints, or undefined for the worker's default. */
  checkpointEvery: number | undefined;
  /** Whether to ask for `worker status` lines (see {@link runSupportsStatusLines}). */
  statusLines: boolean;
  /** Whether the worker traces its attempts (`--tracing otlp`; where to is in its environment). */
  tracing?: boolean;
}

/** The ledger file of a dev worker. */
export function ledgerFile(dataDir: string, ownerId: string): string {
  return join(dataDir, "ledger", `${ownerId}.jsonl`);
}

/** The log file a dev worker's stdout and stderr go to. */
export function workerLogFile(dataDir: string, ownerId: string): string {
  return join(dataDir, "logs", `${ownerId}.log`);
}

/** Whether this build's `ehw run` accepts the status-line flag (it rejects unknown flags). */
export function runSupportsStatusLines(): boolean {
  return Object.values(SETTINGS).some((spec) => spec.flag === STATUS_FLAG);
}

/** The arguments after `ehw` that run one dev worker. */
export function devWorkerArgs(input: DevWorkerArgsInput): string[] {
  const args = [
    "run",
    "--eventhub-connection-string",
    input.eventHubConnectionString,
    "--eventhub-name",
    input.hub,
    "--storage-connection-string",
    input.storageConnectionString,
    "--container-name",
    DEV_CONTAINER_NAME,
    "--owner-id",
    input.ownerId,
    "--handler",
    input.handler,
  ];
  if (input.handler === "ledger") args.push("--ledger-file", ledgerFile(input.dataDir, input.ownerId));
  args.push(
    "--strategy",
    DEV_WORKER_TIMING.strategy,
    "--update-interval-ms",
    String(DEV_WORKER_TIMING.updateIntervalMs),
    "--ownership-expiration-ms",
    String(DEV_WORKER_TIMING.ownershipExpirationMs),
    "--retry-delay-ms",
    String(DEV_WORKER_TIMING.retryDelayMs),
    "--drain-timeout-ms",
    String(DEV_WORKER_TIMING.drainTimeoutMs),
  );
  if (input.checkpointEvery !== undefined) args.push("--checkpoint-every", String(input.checkpointEvery));
  if (input.statusLines) args.push(STATUS_FLAG, String(STATUS_INTERVAL_MS));
  if (input.tracing === true) args.push("--tracing", "otlp");
  return args;
}

/** Flags of {@link devWorkerArgs} whose values are secrets, for redacted command lines. */
export const DEV_WORKER_SECRET_FLAGS: readonly string[] = [
  "--eventhub-connection-string",
  "--storage-connection-string",
];
