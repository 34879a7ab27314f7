/**
 * Emulator configuration in three steps: raw (CLI flags, our JSON file, or the Microsoft
 * emulator's `Config.json`) → defaults applied → validated {@link EmulatorConfig}.
 */
import { ConfigError } from "../common/errors.js";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "./server/frame-guard.js";

/** The consumer group every hub has. */
export const DEFAULT_CONSUMER_GROUP = "$Default";
/** Default SAS key name, as on a real namespace's root policy. */
export const DEFAULT_KEY_NAME = "RootManageSharedAccessKey";
/**
 * Default SAS key. A fixed, published development key: the emulator is a local tool and this key
 * protects nothing; pass `--key` to use another.
 */
export const DEFAULT_KEY = "ZWh3LWxvY2FsLWVtdWxhdG9yLWRldi1rZXktbm90LWEtc2VjcmV0IQ==";
/** Default listen host: loopback only. */
export const DEFAULT_HOST = "127.0.0.1";
/** Default AMQP port, the standard plain AMQP port. */
export const DEFAULT_AMQP_PORT = 5672;
/** The amqps port every SDK uses when a connection string names none (Event Hubs' own). */
export const DEFAULT_TLS_PORT = 5671;
/** Default admin HTTP port (health, hubs, faults). */
export const DEFAULT_ADMIN_PORT = 5380;
/** Default hub when none is configured: `eh1` with 4 partitions and `$Default`. */
export const DEFAULT_HUB: HubSpec = {
  name: "eh1",
  partitionCount: 4,
  consumerGroups: [DEFAULT_CONSUMER_GROUP],
};
/** Largest partition count accepted per hub. */
export const MAX_PARTITION_COUNT = 1024;

/** A hub as configured or created at runtime. */
export interface HubSpec {
  /** Hub (event hub / entity) name: letters, digits, `.`, `-`, `_`; 1–256 characters. */
  name: string;
  /** Number of partitions, 1–1024; ids are "0" … "n-1". */
  partitionCount: number;
  /** Consumer groups; always includes `$Default`. */
  consumerGroups: string[];
}

/** A hub before validation; every field but the name may be missing. */
export interface RawHubSpec {
  /** Hub name. */
  name?: unknown;
  /** Partition count; default 4. */
  partitionCount?: unknown;
  /** Consumer groups besides `$Default`; default none. */
  consumerGroups?: unknown;
}

/** Emulator settings before defaults and validation (from flags or a JSON file). */
export interface RawEmulatorConfig {
  /** Listen host; default "127.0.0.1". */
  host?: unknown;
  /** AMQP port; default 5672, 0 = any free port. */
  amqpPort?: unknown;
  /** Admin HTTP port; default 5380, 0 = any free port. */
  adminPort?: unknown;
  /** Hubs; default one hub `eh1` with 4 partitions. */
  hubs?: unknown;
  /** SAS key name; default "RootManageSharedAccessKey". */
  keyName?: unknown;
  /** SAS key; default {@link DEFAULT_KEY}. */
  key?: unknown;
  /** Directory for persistent partition logs and the hub manifest; default none (in memory). */
  dataDir?: unknown;
  /** Keep at most this many events per partition; default unlimited. */
  retentionEvents?: unknown;
  /** Drop events older than this many milliseconds; default unlimited. */
  retentionMs?: unknown;
  /** Milliseconds a connection has to put its first valid CBS token; default 10000. */
  handshakeTimeoutMs?: unknown;
  /** Admin listen host, independent of `host`; default "127.0.0.1". */
  adminHost?: unknown;
  /** Bearer token the admin endpoint requires; required when adminHost is not loopback. */
  adminToken?: unknown;
  /** amqps (TLS) port; default none (no TLS listener), 0 = any free port. */
  tlsPort?: unknown;
  /** PEM certificate file for the TLS listener; default: a development CA made at start. */
  tlsCertFile?: unknown;
  /** PEM private key file of `tlsCertFile`; given together with it. */
  tlsKeyFile?: unknown;
}

/** Validated emulator settings. */
export interface EmulatorConfig {
  /** Listen host for both the AMQP and the admin listener. */
  host: string;
  /** AMQP port; 0 = any free port (the bound one is on the server object). */
  amqpPort: number;
  /** Admin HTTP port; 0 = any free port. */
  adminPort: number;
  /** Hubs present at start. */
  hubs: HubSpec[];
  /** SAS key name clients must use. */
  keyName: string;
  /** SAS key clients must sign with. */
  key: string;
  /** Persistence directory, or undefined for in-memory logs. */
  dataDir: string | undefined;
  /** Per-partition event-count retention, or undefined for unlimited. */
  retentionEvents: number | undefined;
  /** Per-partition age retention in milliseconds, or undefined for unlimited. */
  retentionMs: number | undefined;
  /** Milliseconds a connection has to put its first valid CBS token (then it is closed). */
  handshakeTimeoutMs: number;
  /** Admin listen host. */
  adminHost: string;
  /** Bearer token for every admin route but `GET /health`, or undefined (loopback only). */
  adminToken: string | undefined;
  /** The TLS listener, or undefined for none. */
  tls: TlsSettings | undefined;
}

/** The amqps listener's settings. */
export interface TlsSettings {
  /** Port; 0 = any free port. */
  port: number;
  /** Certificate and key files, or undefined to make a development CA and certificate at start. */
  files: { certFile: string; keyFile: string } | undefined;
}

/** Whether `host` is a loopback address or name (the only hosts that need no admin token). */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

const HUB_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/;
const GROUP_NAME = /^(\$default|[a-z0-9][a-z0-9._-]{0,49})$/i;

/** Applies defaults to `raw` and validates it; `where` names the source in error messages. */
export function compileEmulatorConfig(raw: RawEmulatorConfig, where = "config"): EmulatorConfig {
  const hubsRaw = raw.hubs ?? [DEFAULT_HUB];
  if (!Array.isArray(hubsRaw)) throw new ConfigError(`${where}: hubs must be an array`, ctx("hubs"));
  const hubs = hubsRaw.map((h, i) => compileHubSpec(h as RawHubSpec, `${where}: hubs[${i}]`));
  const seen = new Set<string>();
  for (const hub of hubs) {
    const lower = hub.name.toLowerCase();
    if (seen.has(lower))
      throw new ConfigError(`${where}: hub '${hub.name}' is configured twice`, ctx("hubs"));
    seen.add(lower);
  }
  const amqpPort = port(raw.amqpPort, DEFAULT_AMQP_PORT, `${where}: amqpPort (--port)`);
  const tls = tlsSettings(raw, where);
  if (tls !== undefined && tls.port !== 0 && tls.port === amqpPort) {
    throw new ConfigError(
      `${where}: --tls-port and --port are both ${amqpPort}; the amqps and the plain listener need ports of their own`,
      ctx("tlsPort"),
    );
  }
  return {
    host: text(raw.host, DEFAULT_HOST, `${where}: host`),
    amqpPort,
    adminPort: port(raw.adminPort, DEFAULT_ADMIN_PORT, `${where}: adminPort (--admin-port)`),
    hubs,
    keyName: text(raw.keyName, DEFAULT_KEY_NAME, `${where}: keyName (--key-name)`),
    key: text(raw.key, DEFAULT_KEY, `${where}: key (--key)`),
    dataDir: raw.dataDir === undefined ? undefined : text(raw.dataDir, "", `${where}: dataDir (--data)`),
    retentionEvents: positiveOrUndefined(
      raw.retentionEvents,
      `${where}: retentionEvents (--retention-events)`,
    ),
    retentionMs: positiveOrUndefined(raw.retentionMs, `${where}: retentionMs (--retention-ms)`),
    handshakeTimeoutMs:
      positiveOrUndefined(raw.handshakeTimeoutMs, `${where}: handshakeTimeoutMs`) ??
      DEFAULT_HANDSHAKE_TIMEOUT_MS,
    ...adminSettings(raw, where),
    tls,
  };
}

/** Validates one hub; `$Default` is added to its consumer groups when missing. */
export function compileHubSpec(raw: RawHubSpec, where = "hub"): HubSpec {
  if (typeof raw !== "object" || raw === null)
    throw new ConfigError(`${where}: expected an object`, ctx("hubs"));
  if (typeof raw.name !== "string" || !HUB_NAME.test(raw.name)) {
    throw new ConfigError(
      `${where}: name must be 1-256 letters, digits, '.', '-' or '_' starting with a letter or digit (got ${JSON.stringify(raw.name)})`,
      ctx("hubs"),
    );
  }
  const partitionCount = raw.partitionCount ?? DEFAULT_HUB.partitionCount;
  if (
    typeof partitionCount !== "number" ||
    !Number.isInteger(partitionCount) ||
    partitionCount < 1 ||
    partitionCount > MAX_PARTITION_COUNT
  ) {
    throw new ConfigError(
      `${where}: partitionCount must be an integer from 1 to ${MAX_PARTITION_COUNT} (got ${JSON.stringify(partitionCount)})`,
      ctx("partitionCount"),
    );
  }
  const groupsRaw = raw.consumerGroups ?? [];
  if (!Array.isArray(groupsRaw))
    throw new ConfigError(`${where}: consumerGroups must be an array of names`, ctx("consumerGroups"));
  const consumerGroups = [DEFAULT_CONSUMER_GROUP];
  for (const group of groupsRaw) {
    if (typeof group !== "string" || !GROUP_NAME.test(group)) {
      throw new ConfigError(
        `${where}: consumer group must be 1-50 letters, digits, '.', '-' or '_' (got ${JSON.stringify(group)})`,
        ctx("consumerGroups"),
      );
    }
    if (!consumerGroups.some((g) => g.toLowerCase() === group.toLowerCase())) consumerGroups.push(group);
  }
  return { name: raw.name, partitionCount, consumerGroups };
}

/**
 * Parses the `--hub` flag: `name[:partitions[:cg1,cg2]]`, e.g. `orders:8:billing,audit`.
 * The result still goes through {@link compileHubSpec}.
 */
export function parseHubFlag(value: string): RawHubSpec {
  const [name, partitions, groups, ...extra] = value.split(":");
  if (extra.length > 0)
    throw new ConfigError(`--hub '${value}': expected name[:partitions[:cg1,cg2]]`, ctx("hub"));
  const raw: RawHubSpec = { name };
  if (partitions !== undefined && partitions !== "") {
    if (!/^\d+$/.test(partitions)) {
      throw new ConfigError(
        `--hub '${value}': partitions must be a whole number from 1 to ${MAX_PARTITION_COUNT}`,
        ctx("hub"),
      );
    }
    raw.partitionCount = Number(partitions);
  }
  if (groups !== undefined && groups !== "") raw.consumerGroups = groups.split(",").filter((g) => g !== "");
  return raw;
}

/**
 * Parses a JSON config file: either our own shape ({@link RawEmulatorConfig}) or the Microsoft
 * Event Hubs emulator's `Config.json` (`UserConfig.NamespaceConfig[].Entities[]` with `Name`,
 * `PartitionCount`, `ConsumerGroups[].Name`), whose hubs of every namespace are merged.
 */
export function parseConfigFile(text: string, source: string): RawEmulatorConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid JSON`, { cause: err, context: { setting: "config" } });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`${source}: expected a JSON object`, ctx("config"));
  }
  const record = parsed as Record<string, unknown>;
  if ("UserConfig" in record) return fromMicrosoftConfig(record.UserConfig, source);
  return record as RawEmulatorConfig;
}

function fromMicrosoftConfig(userConfig: unknown, source: string): RawEmulatorConfig {
  const namespaces = (userConfig as { NamespaceConfig?: unknown } | null)?.NamespaceConfig;
  if (!Array.isArray(namespaces)) {
    throw new ConfigError(
      `${source}: UserConfig.NamespaceConfig must be an array`,
      ctx("UserConfig.NamespaceConfig"),
    );
  }
  const hubs: RawHubSpec[] = [];
  namespaces.forEach((ns: unknown, i: number) => {
    const entities = (ns as { Entities?: unknown } | null)?.Entities;
    if (!Array.isArray(entities)) {
      throw new ConfigError(
        `${source}: UserConfig.NamespaceConfig[${i}].Entities must be an array`,
        ctx(`UserConfig.NamespaceConfig[${i}].Entities`),
      );
    }
    for (const entity of entities as Array<Record<string, unknown> | null>) {
      const groups = entity?.ConsumerGroups;
      hubs.push({
        name: entity?.Name,
        // Config.json writes the count as a string ("2"); accept both.
        partitionCount:
          typeof entity?.PartitionCount === "string" ? Number(entity.PartitionCount) : entity?.PartitionCount,
        consumerGroups: Array.isArray(groups)
          ? groups.map((g: { Name?: unknown } | null) => g?.Name)
          : groups,
      });
    }
  });
  return { hubs };
}

function ctx(setting: string): { context: { setting: string } } {
  return { context: { setting } };
}

function text(value: unknown, fallback: string, what: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value.trim() === "")
    throw new ConfigError(`${what} must be a non-empty string`, ctx(what));
  return value;
}

function port(value: unknown, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(
      `${what} must be a port number from 0 to 65535, 0 = any free port (got ${JSON.stringify(value)})`,
      ctx(what),
    );
  }
  return n;
}

function positiveOrUndefined(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(
      `${what} must be a whole number of at least 1 (got ${JSON.stringify(value)})`,
      ctx(what),
    );
  }
  return n;
}

/** The admin listener's host and token: off loopback, fault injection needs a token. */
function adminSettings(
  raw: RawEmulatorConfig,
  where: string,
): { adminHost: string; adminToken: string | undefined } {
  const adminHost = text(raw.adminHost, DEFAULT_HOST, `${where}: adminHost (--admin-host)`);
  const token = raw.adminToken === undefined || raw.adminToken === "" ? undefined : String(raw.adminToken);
  if (!isLoopbackHost(adminHost) && token === undefined) {
    throw new ConfigError(
      `${where}: the admin endpoint on ${adminHost} is reachable from other hosts and can drop connections and create hubs: give it a token with --admin-token (clients send "Authorization: Bearer <token>"), or keep it on loopback`,
      ctx("adminToken"),
    );
  }
  return { adminHost, adminToken: token };
}

/** The TLS listener: a port, and either both certificate files or neither. */
function tlsSettings(raw: RawEmulatorConfig, where: string): TlsSettings | undefined {
  const certFile =
    raw.tlsCertFile === undefined
      ? undefined
      : text(raw.tlsCertFile, "", `${where}: tlsCertFile (--tls-cert)`);
  const keyFile =
    raw.tlsKeyFile === undefined ? undefined : text(raw.tlsKeyFile, "", `${where}: tlsKeyFile (--tls-key)`);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      `${where}: --tls-cert and --tls-key go together (a certificate and its private key); give both, or neither for a development certificate`,
      ctx(certFile === undefined ? "tlsCertFile" : "tlsKeyFile"),
    );
  }
  if (raw.tlsPort === undefined) {
    if (certFile !== undefined) {
      throw new ConfigError(
        `${where}: --tls-cert/--tls-key need --tls-port (e.g. --tls-port ${DEFAULT_TLS_PORT}) to open the amqps listener`,
        ctx("tlsPort"),
      );
    }
    return undefined;
  }
  const tlsPort = port(raw.tlsPort, DEFAULT_TLS_PORT, `${where}: tlsPort (--tls-port)`);
  return {
    port: tlsPort,
    files: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
  };
}
