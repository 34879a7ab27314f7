/**
 * Options of `ehw archive list|replay`: the command's own flags (range, target, output), and the
 * worker's settings (`--config`, connection flags and env) read and compiled as `ehw run` reads
 * them, so the command finds the archive container, the hub and the pipelines the fleet uses.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../common/errors.js";
import { namespaceOfHost } from "./archive.js";
import { processEnvironment } from "./process.js";
import { readRawWorkerOptions } from "./source.js";
import { compileWorkerConfig, type WorkerConfig } from "./worker.js";

/** The two actions of `ehw archive`. */
export type ArchiveAction = "list" | "replay";

const RANGE_FLAGS = {
  partition: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  "from-sequence": { type: "string" },
  "to-sequence": { type: "string" },
  "archive-container": { type: "string" },
  json: { type: "boolean" },
} as const;

/** The command's own flags per action; every other flag is a worker setting. */
export const ARCHIVE_FLAGS = {
  list: RANGE_FLAGS,
  replay: {
    ...RANGE_FLAGS,
    pipeline: { type: "string" },
    "to-hub": { type: "string" },
    "dry-run": { type: "boolean" },
  },
} as const;

/** Compiled options of `ehw archive`. */
export interface ArchiveCommandOptions {
  readonly action: ArchiveAction;
  /** The worker config the settings compile to (hub, storage, handlers, attempts, dead-letter). */
  readonly worker: WorkerConfig;
  /** Archive container: `--archive-container`, else the config's `archive` handler's. */
  readonly container: string;
  /** The archive's storage: the `archive` handler's, else the worker's checkpoint storage. */
  readonly storage: { readonly connectionString?: string; readonly accountUrl?: string };
  /** {Namespace} of the files: the handler's option, else from the Event Hubs host. */
  readonly namespace: string;
  readonly partitionId: string | undefined;
  /** Events enqueued at or after; undefined = from the start. */
  readonly fromTime: Date | undefined;
  /** Events enqueued before; undefined = to the end. */
  readonly toTime: Date | undefined;
  /** Inclusive. */
  readonly fromSequenceNumber: number | undefined;
  /** Inclusive. */
  readonly toSequenceNumber: number | undefined;
  readonly json: boolean;
  /** Replay into this pipeline; undefined = route as the worker does (unless `toHub`). */
  readonly pipeline: string | undefined;
  /** Replay: re-send to this hub instead of running pipelines. */
  readonly toHub: string | undefined;
  /** Replay: count what would be replayed, run and send nothing. */
  readonly dryRun: boolean;
}

/** What {@link readArchiveCommand} returns: options, or help. */
export type ArchiveCommandRead = { help: true } | { help: false; options: ArchiveCommandOptions };

/** Splits argv into the command's own flags and the rest (the worker's settings). */
function splitArgs(action: ArchiveAction, argv: string[]): { own: string[]; rest: string[] } {
  const flags: Record<string, { type: string }> = ARCHIVE_FLAGS[action];
  const own: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const name = arg.startsWith("--") ? (arg.slice(2).split("=", 1)[0] ?? "") : "";
    const spec = flags[name];
    if (spec === undefined) {
      rest.push(arg);
      continue;
    }
    own.push(arg);
    if (spec.type === "string" && !arg.includes("=") && i + 1 < argv.length) {
      i += 1;
      own.push(argv[i] as string);
    }
  }
  return { own, rest };
}

function fail(flag: string, message: string): never {
  throw new ConfigError(`${flag} ${message}`, { context: { setting: flag } });
}

function time(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    fail(flag, `must be an ISO-8601 time such as 2026-12-03T07:00:00Z, got ${JSON.stringify(value)}`);
  return new Date(ms);
}

function sequence(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    fail(flag, `must be a sequence number (a whole number ≥ 0), got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function nonEmpty(flag: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.trim() === "") fail(flag, "must not be empty");
  return value;
}

/** Where the archive is: flags first, then the config's archive handler, then the worker's own storage. */
function archiveLocation(
  worker: WorkerConfig,
  containerFlag: string | undefined,
): Pick<ArchiveCommandOptions, "container" | "storage" | "namespace"> {
  const spec = worker.handlers.handlers.find(
    (h) => h.source.kind === "builtin" && h.source.builtin === "archive",
  );
  const o = spec?.options ?? {};
  const container = containerFlag ?? (typeof o.container === "string" ? o.container : undefined);
  if (container === undefined) {
    fail(
      "--archive-container",
      "is required when the config has no archive handler: name the archive's blob container",
    );
  }
  const storage =
    typeof o.storageConnectionString === "string"
      ? { connectionString: o.storageConnectionString }
      : typeof o.storageAccountUrl === "string"
        ? { accountUrl: o.storageAccountUrl }
        : { connectionString: worker.storage.connectionString, accountUrl: worker.storage.accountUrl };
  const namespace =
    typeof o.namespace === "string" ? o.namespace : namespaceOfHost(worker.eventHubs.endpointHost);
  return { container, storage, namespace };
}

/** Pure: the compiled options from the command's parsed flags and the compiled worker config. */
export function compileArchiveCommand(
  action: ArchiveAction,
  flags: Record<string, string | boolean | undefined>,
  worker: WorkerConfig,
): ArchiveCommandOptions {
  const str = (name: string) => nonEmpty(`--${name}`, flags[name]);
  const options: ArchiveCommandOptions = {
    action,
    worker,
    ...archiveLocation(worker, str("archive-container")),
    partitionId: str("partition"),
    fromTime: time("--from", str("from")),
    toTime: time("--to", str("to")),
    fromSequenceNumber: sequence("--from-sequence", str("from-sequence")),
    toSequenceNumber: sequence("--to-sequence", str("to-sequence")),
    json: flags.json === true,
    pipeline: action === "replay" ? str("pipeline") : undefined,
    toHub: action === "replay" ? str("to-hub") : undefined,
    dryRun: action === "replay" && flags["dry-run"] === true,
  };
  if (options.fromTime && options.toTime && options.fromTime >= options.toTime)
    fail("--from", "must be before --to");
  if (
    options.fromSequenceNumber !== undefined &&
    options.toSequenceNumber !== undefined &&
    options.fromSequenceNumber > options.toSequenceNumber
  ) {
    fail("--from-sequence", "must not be above --to-sequence");
  }
  if (options.pipeline !== undefined && options.toHub !== undefined) {
    fail("--pipeline", "and --to-hub exclude each other: replay into a pipeline or to a hub");
  }
  if (options.pipeline !== undefined && !worker.handlers.pipelines.some((p) => p.name === options.pipeline)) {
    fail(
      "--pipeline",
      `names no pipeline of the config; known: ${worker.handlers.pipelines.map((p) => p.name).join(", ")}`,
    );
  }
  return options;
}

/**
 * Reads `ehw archive <action>`'s command line, environment and config file. Throws ConfigError
 * naming the flag or setting for anything invalid.
 */
export function readArchiveCommand(
  action: ArchiveAction,
  argv: string[],
  env: NodeJS.ProcessEnv = processEnvironment(),
  cwd: string = process.cwd(),
): ArchiveCommandRead {
  const { own, rest } = splitArgs(action, argv);
  if (rest.includes("--help") || rest.includes("-h")) return { help: true };
  let values: Record<string, string | boolean | undefined>;
  try {
    const options: Record<string, { type: "string" | "boolean" }> = ARCHIVE_FLAGS[action];
    values = parseArgs({ args: own, options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (err) {
    throw new ConfigError(`invalid command line for 'ehw archive ${action}': ${(err as Error).message}`, {
      cause: err,
    });
  }
  const read = readRawWorkerOptions(rest, env, cwd);
  // Ownership timing is cross-checked against settings this command never uses.
  const { ownershipExpirationMs: _unused, ...raw } = read.raw;
  const worker = compileWorkerConfig(raw, { baseDir: read.baseDir, randomUUID: () => `archive-${action}` });
  return {
    help: false,
    options: compileArchiveCommand(action, values, worker),
  };
}
