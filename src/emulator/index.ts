/**
 * The local Event Hubs emulator, programmatically: an AMQP listener the unmodified Event Hubs SDK
 * talks to, and a loopback admin endpoint. Used by `ehw hub`, benchmarks and in-process tests.
 */
import { type Logger, silentLogger } from "../observability/logger.js";
import { type AdminServer, type HubSummary, startAdminServer } from "./admin/admin-server.js";
import {
  compileEmulatorConfig,
  compileHubSpec,
  DEFAULT_AMQP_PORT,
  DEFAULT_TLS_PORT,
  type EmulatorConfig,
  type RawEmulatorConfig,
  type RawHubSpec,
} from "./config.js";
import { AmqpServer } from "./server/amqp-server.js";
import { generateDevelopmentTls, loadTlsFiles, type TlsMaterial } from "./server/tls-material.js";
import { type Hub, HubRegistry } from "./services/hubs.js";

export type { HubSummary } from "./admin/admin-server.js";
export type { EmulatorConfig, HubSpec, RawEmulatorConfig, RawHubSpec } from "./config.js";

/** Input of {@link emulatorConnectionString}. */
export interface EmulatorEndpoint {
  /** Host clients connect to. */
  host: string;
  /** Bound AMQP port. */
  port: number;
  /** SAS key name. */
  keyName: string;
  /** SAS key. */
  key: string;
  /** Hub to name with `EntityPath`; default none. */
  hub?: string;
  /** The amqps listener's endpoint: no `UseDevelopmentEmulator`, so the SDKs speak TLS; default false. */
  tls?: boolean;
}

/**
 * The connection string for an emulator at `host:port`. On 5672 it names no port, as Microsoft's
 * emulator does: the SDKs connect to 5672 then, and all of them derive the same blob prefix from
 * the host (the JS SDK drops the port, the Python SDK keeps it, issue 18).
 */
export function emulatorConnectionString(endpoint: EmulatorEndpoint): string {
  const defaultPort = endpoint.tls === true ? DEFAULT_TLS_PORT : DEFAULT_AMQP_PORT;
  const address = endpoint.port === defaultPort ? endpoint.host : `${endpoint.host}:${endpoint.port}`;
  const entity = endpoint.hub === undefined ? "" : `;EntityPath=${endpoint.hub}`;
  const plain = endpoint.tls === true ? "" : ";UseDevelopmentEmulator=true";
  return `Endpoint=sb://${address};SharedAccessKeyName=${endpoint.keyName};SharedAccessKey=${endpoint.key}${plain}${entity}`;
}

/** How often retention is applied when configured, in ms. */
const RETENTION_INTERVAL_MS = 1000;

/** A running emulator. */
export interface EmulatorServer {
  /** The validated configuration it runs with. */
  readonly config: EmulatorConfig;
  /** Bound AMQP port. */
  readonly amqpPort: number;
  /** Bound admin HTTP port. */
  readonly adminPort: number;
  /**
   * Connection string for the SDK: `Endpoint=sb://<host>:<port>;SharedAccessKeyName=…;
   * SharedAccessKey=…;UseDevelopmentEmulator=true`, optionally with `EntityPath=<hub>`; no
   * `:<port>` on 5672 (see {@link emulatorConnectionString}).
   */
  connectionString(hub?: string): string;
  /** Bound amqps port, or undefined without `tlsPort`. */
  readonly tlsPort: number | undefined;
  /** The development CA file clients must trust, or undefined (no TLS, or given certificate files). */
  readonly caFile: string | undefined;
  /**
   * Connection string for the amqps listener (TLS, as against Event Hubs: no
   * `UseDevelopmentEmulator`; no port on 5671), or undefined without one.
   */
  tlsConnectionString(hub?: string): string | undefined;
  /** Creates a hub at runtime; idempotent for the same shape. @throws ConfigError, EmulatorProtocolError */
  createHub(spec: RawHubSpec): { created: boolean; hub: HubSummary };
  /** The hubs, in creation order. */
  hubs(): HubSummary[];
  /** Detaches readers (all, or one hub's / partition's) with a condition the SDK retries. */
  detachReaders(filter?: { hub?: string; partitionId?: string }): number;
  /**
   * Deletes a consumer group of a hub and detaches its readers with `amqp:not-found`; false when
   * the hub or group does not exist. @throws EmulatorProtocolError for `$Default`.
   */
  deleteConsumerGroup(hub: string, consumerGroup: string): boolean;
  /** Closes every client connection. */
  dropConnections(): number;
  /** Sets injected latency on every reply and delivery, in ms; 0 clears. */
  setLatencyMs(ms: number): void;
  /** Approximate bytes held by partition logs. */
  memoryBytes(): number;
  /** Number of attached readers (consumer links). */
  readerCount(): number;
  /** Number of open AMQP connections. */
  connectionCount(): number;
  /** Stops both listeners, closes connections and flushes the logs. Idempotent. */
  close(): Promise<void>;
}

function summary(hub: Hub): HubSummary {
  return {
    name: hub.name,
    partitionCount: hub.partitions.length,
    consumerGroups: [...hub.spec.consumerGroups],
  };
}

/**
 * Starts the emulator. `config` is compiled (defaults, validation) here, so raw values are fine;
 * use `amqpPort: 0, adminPort: 0` for free ports.
 * @throws ConfigError for a bad configuration or an unusable data directory.
 */
export async function startEmulator(
  config: RawEmulatorConfig | EmulatorConfig,
  logger: Logger = silentLogger(),
): Promise<EmulatorServer> {
  const compiled = compileEmulatorConfig(config as RawEmulatorConfig);
  const log = logger.child({ component: "emulator" });
  const registry = HubRegistry.open(compiled.hubs, {
    dataDir: compiled.dataDir,
    retentionEvents: compiled.retentionEvents,
    retentionMs: compiled.retentionMs,
    logger: log,
  });
  let latencyMs = 0;
  let amqp: AmqpServer | undefined;
  let admin: AdminServer | undefined;
  let tls: TlsMaterial | undefined;
  try {
    tls = await tlsMaterial(compiled);
    amqp = await AmqpServer.start({
      host: compiled.host,
      port: compiled.amqpPort,
      hubs: registry,
      keys: new Map([[compiled.keyName, compiled.key]]),
      latencyMs: () => latencyMs,
      logger: log.child({ component: "emulator-amqp" }),
      handshakeTimeoutMs: compiled.handshakeTimeoutMs,
      ...(tls === undefined || compiled.tls === undefined
        ? {}
        : { tls: { port: compiled.tls.port, key: tls.key, cert: tls.cert } }),
    });
    const server = amqp;
    const control = {
      listHubs: () => registry.list().map(summary),
      connectionCount: () => server.connectionCount(),
      createHub: (raw: RawHubSpec) => {
        const { hub, created } = registry.create(compileHubSpec(raw, `hub '${String(raw.name)}'`));
        return { created, hub: summary(hub) };
      },
      detachReaders: (filter: { hub?: string; partitionId?: string } = {}) =>
        // DetachForcedError is in core-amqp's retryable list, so consumers reconnect.
        server.readers.detachAll(
          "amqp:link:detach-forced",
          "the link was detached by the emulator's admin endpoint",
          filter,
        ),
      deleteConsumerGroup: (hub: string, consumerGroup: string) => {
        if (!registry.deleteConsumerGroup(hub, consumerGroup)) return false;
        // The service detaches the readers of a deleted group; the SDK maps this to
        // MessagingEntityNotFoundError, which it does not retry.
        server.readers.detachAll(
          "amqp:not-found",
          `The messaging entity '${hub}/ConsumerGroups/${consumerGroup}' could not be found.`,
          { hub, consumerGroup },
        );
        return true;
      },
      dropConnections: () => server.dropConnections(),
      setLatencyMs: (ms: number) => {
        latencyMs = ms;
      },
    };
    admin = await startAdminServer({
      host: compiled.adminHost,
      token: compiled.adminToken,
      port: compiled.adminPort,
      control,
      logger: log.child({ component: "emulator-admin" }),
    });
    return buildHandle(compiled, server, admin, registry, control, tls);
  } catch (err) {
    await amqp?.close();
    await admin?.close();
    await tls?.dispose();
    registry.close();
    throw err;
  }
}

/** The TLS listener's key and certificate: the given files, or a development CA made now. */
function tlsMaterial(config: EmulatorConfig): Promise<TlsMaterial | undefined> {
  const tls = config.tls;
  if (tls === undefined) return Promise.resolve(undefined);
  if (tls.files !== undefined) return loadTlsFiles(tls.files.certFile, tls.files.keyFile);
  return generateDevelopmentTls(config.host);
}

function buildHandle(
  config: EmulatorConfig,
  amqp: AmqpServer,
  admin: AdminServer,
  registry: HubRegistry,
  control: Omit<
    EmulatorServer,
    | "config"
    | "amqpPort"
    | "adminPort"
    | "connectionString"
    | "tlsPort"
    | "caFile"
    | "tlsConnectionString"
    | "hubs"
    | "memoryBytes"
    | "readerCount"
    | "connectionCount"
    | "close"
  > & {
    listHubs(): HubSummary[];
  },
  tls: TlsMaterial | undefined,
): EmulatorServer {
  const retention =
    config.retentionEvents !== undefined || config.retentionMs !== undefined
      ? setInterval(() => registry.applyRetention(), RETENTION_INTERVAL_MS).unref()
      : undefined;
  let closing: Promise<void> | undefined;
  const amqpPort = amqp.port;
  const tlsPort = amqp.tlsPort;
  const { host, keyName, key } = config;
  const connectionString = (port: number, tls: boolean, hub: string | undefined): string =>
    emulatorConnectionString({ host, keyName, key, port, tls, ...(hub === undefined ? {} : { hub }) });
  return {
    config,
    amqpPort,
    adminPort: admin.port,
    connectionString: (hub?: string) => connectionString(amqpPort, false, hub),
    tlsPort,
    caFile: tls?.caFile,
    tlsConnectionString: (hub?: string) =>
      tlsPort === undefined ? undefined : connectionString(tlsPort, true, hub),
    createHub: control.createHub,
    hubs: control.listHubs,
    detachReaders: control.detachReaders,
    deleteConsumerGroup: control.deleteConsumerGroup,
    dropConnections: control.dropConnections,
    setLatencyMs: control.setLatencyMs,
    memoryBytes: () => registry.memoryBytes(),
    readerCount: () => amqp.readers.count(),
    connectionCount: () => amqp.connectionCount(),
    close: () => {
      closing ??= (async () => {
        if (retention) clearInterval(retention);
        await Promise.all([amqp.close(), admin.close()]);
        await tls?.dispose();
        registry.close();
      })();
      return closing;
    },
  };
}
