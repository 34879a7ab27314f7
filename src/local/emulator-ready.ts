/**
 * The pure parts of running `ehw hub` as a child process: its arguments, and the one JSON line
 * it prints on stdout once it listens.
 */

/** A hub the emulator creates at start or through its admin endpoint. */
export interface EmulatorHubSpec {
  /** Event hub name. */
  name: string;
  /** Number of partitions (≥ 1). */
  partitionCount: number;
  /** Consumer groups besides `$Default`; default none. */
  consumerGroups?: string[];
}

/** What `ehw hub --json` reports on its ready line. */
export interface EmulatorReadyInfo {
  /** Bound AMQP port. */
  amqpPort: number;
  /** Bound admin HTTP port. */
  adminPort: number;
  /** Namespace connection string (no EntityPath); contains the key. */
  connectionString: string;
  /** SAS key name accepted by the emulator. */
  keyName: string;
  /** SAS key accepted by the emulator (a secret: never log it). */
  key: string;
  /** Every other field of the line, as printed. */
  raw: Record<string, unknown>;
}

/**
 * Parses one stdout line of `ehw hub --json`; returns the ready information when the line is the
 * `{"event":"ready",…}` object with every required field, otherwise undefined.
 */
export function parseReadyLine(line: string): EmulatorReadyInfo | undefined {
  const text = line.trim();
  if (!text.startsWith("{")) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const raw = value as Record<string, unknown>;
  const { event, amqpPort, adminPort, connectionString, keyName, key } = raw;
  if (event !== "ready") return undefined;
  if (!isPort(amqpPort) || !isPort(adminPort)) return undefined;
  if (typeof connectionString !== "string" || typeof keyName !== "string" || typeof key !== "string") {
    return undefined;
  }
  return { amqpPort, adminPort, connectionString, keyName, key, raw };
}

function isPort(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0 && value < 65536;
}

/** The `--hub` value for a hub: `name[:partitions[:cg1,cg2]]`. */
export function hubFlagValue(hub: EmulatorHubSpec): string {
  const groups = hub.consumerGroups ?? [];
  const base = `${hub.name}:${hub.partitionCount}`;
  return groups.length > 0 ? `${base}:${groups.join(",")}` : base;
}

/** Settings that become `ehw hub` arguments; see `StartEmulatorOptions` for their meaning. */
export interface EmulatorArgsInput {
  host: string;
  port: number;
  adminPort: number;
  dataDir?: string;
  hubs?: EmulatorHubSpec[];
  configFile?: string;
  retentionEvents?: number;
  retentionMs?: number;
  keyName?: string;
  key?: string;
  logLevel?: string;
}

/** The arguments of `ehw` that run the emulator with a JSON ready line. */
export function emulatorArgs(input: EmulatorArgsInput): string[] {
  const args = ["hub", "--json", "--host", input.host, "--port", String(input.port)];
  args.push("--admin-port", String(input.adminPort));
  for (const hub of input.hubs ?? []) args.push("--hub", hubFlagValue(hub));
  if (input.configFile !== undefined) args.push("--config", input.configFile);
  if (input.dataDir !== undefined) args.push("--data", input.dataDir);
  if (input.retentionEvents !== undefined) args.push("--retention-events", String(input.retentionEvents));
  if (input.retentionMs !== undefined) args.push("--retention-ms", String(input.retentionMs));
  if (input.keyName !== undefined) args.push("--key-name", input.keyName);
  if (input.key !== undefined) args.push("--key", input.key);
  if (input.logLevel !== undefined) args.push("--log-level", input.logLevel);
  return args;
}
