/**
 * The local Event Hubs emulator (`ehw hub`) as a child process: started on free or given ports,
 * ready once it has printed its JSON ready line and its admin `/health` answers 200.
 */
import { ConnectionError, ProcessError } from "../common/errors.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import { type ManagedChild, startChild } from "./child.js";
import { type CommandLine, ehwCommand } from "./cli-command.js";
import {
  type EmulatorArgsInput,
  type EmulatorHubSpec,
  type EmulatorReadyInfo,
  emulatorArgs,
  parseReadyLine,
} from "./emulator-ready.js";
import { httpStatus } from "./http-probe.js";
import { assertPortFree, LOCAL_HOST } from "./ports.js";

/** Options of {@link startEmulatorProcess}. */
export interface StartEmulatorOptions {
  /** Address both listeners bind; default "127.0.0.1". */
  host?: string;
  /** AMQP port; default 0 (the emulator picks a free one and reports it). */
  port?: number;
  /** Admin HTTP port; default 0 (the emulator picks a free one and reports it). */
  adminPort?: number;
  /** Persistence directory (`--data`); default none: events live in memory only. */
  dataDir?: string;
  /** Hubs created at start (`--hub`); default none. */
  hubs?: EmulatorHubSpec[];
  /** Emulator configuration file (`--config`); default none. */
  configFile?: string;
  /** Events kept per partition (`--retention-events`); default: the emulator's. */
  retentionEvents?: number;
  /** Age after which events are dropped, in milliseconds (`--retention-ms`); default: the emulator's. */
  retentionMs?: number;
  /** SAS key name (`--key-name`); default: the emulator's. */
  keyName?: string;
  /** SAS key (`--key`); default: the emulator's. Redacted in messages. */
  key?: string;
  /** The emulator's own log level (`--log-level`); default: the emulator's. */
  logLevel?: string;
  /** Logger for lifecycle events and (at debug level) the emulator's output; default silent. */
  logger?: Logger;
  /** Milliseconds to wait for the ready line and `/health`; default 30000. */
  readyTimeoutMs?: number;
  /** Complete environment of the child process; default: inherited. */
  env?: NodeJS.ProcessEnv;
  /** Turns `ehw` arguments into the command to spawn; default {@link ehwCommand}. */
  command?: (args: string[]) => CommandLine;
}

/** A running emulator process. Ports, key name and key are kept across `restart()`. */
export interface EmulatorProcess {
  /** PID of the emulator process (changes on `restart()`). */
  readonly pid: number;
  /** Address both listeners bind. */
  readonly host: string;
  /** Bound AMQP port. */
  readonly amqpPort: number;
  /** Bound admin HTTP port. */
  readonly adminPort: number;
  /** `http://<host>:<adminPort>`. */
  readonly adminUrl: string;
  /** Namespace connection string (no EntityPath), as the emulator reported it. */
  readonly connectionString: string;
  /** SAS key name. */
  readonly keyName: string;
  /** SAS key (a secret: never log it). */
  readonly key: string;
  /** Persistence directory, when one was given. */
  readonly dataDir: string | undefined;
  /** Everything the ready line reported. */
  readonly ready: EmulatorReadyInfo;
  /** The current child process. */
  readonly child: ManagedChild;
  /** Creates a hub at runtime through the admin endpoint. */
  createHub(hub: EmulatorHubSpec): Promise<void>;
  /** Stops the emulator (SIGTERM, then SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** SIGKILLs the emulator, as a crash would. */
  kill(): Promise<void>;
  /** Stops the emulator if it runs and starts it again on the same ports, key and data directory. */
  restart(): Promise<void>;
}

/** The host to connect to for a listener bound to `host` (a wildcard bind is reached on loopback). */
function connectHost(host: string): string {
  return host === "0.0.0.0" || host === "::" ? LOCAL_HOST : host;
}

/**
 * Creates (or, if it exists with the same shape, keeps) a hub through the emulator's admin
 * endpoint: `PUT <adminUrl>/hubs/<name>`. Any answer but 2xx rejects with a {@link ConnectionError}.
 */
export async function createEmulatorHub(adminUrl: string, hub: EmulatorHubSpec): Promise<void> {
  const url = `${adminUrl}/hubs/${encodeURIComponent(hub.name)}`;
  const body = JSON.stringify({
    partitionCount: hub.partitionCount,
    consumerGroups: hub.consumerGroups ?? [],
  });
  let status: number;
  try {
    status = await httpStatus(url, { method: "PUT", body, timeoutMs: 10_000 });
  } catch (err) {
    throw new ConnectionError(`cannot reach the emulator admin endpoint at ${adminUrl}`, {
      cause: err,
      retriable: true,
    });
  }
  if (status < 200 || status >= 300) {
    throw new ConnectionError(`emulator refused to create hub '${hub.name}' (HTTP ${status})`, {
      retriable: false,
      context: { hub: hub.name, status },
    });
  }
}

interface Launched {
  child: ManagedChild;
  ready: EmulatorReadyInfo;
}

async function launch(
  input: EmulatorArgsInput,
  options: StartEmulatorOptions,
  logger: Logger,
): Promise<Launched> {
  const { command, args } = (options.command ?? ehwCommand)(emulatorArgs(input));
  let ready: EmulatorReadyInfo | undefined;
  const child = await startChild({
    name: "emulator",
    command,
    args,
    env: options.env,
    logger,
    onLine: (line) => {
      if (ready === undefined && line.stream === "stdout") ready = parseReadyLine(line.text);
    },
    ready: {
      line: () => ready !== undefined,
      probe: async () => {
        const url = `http://${connectHost(input.host)}:${ready?.adminPort}/health`;
        return (await httpStatus(url)) === 200;
      },
      timeoutMs: options.readyTimeoutMs ?? 30_000,
      what: 'the {"event":"ready"} line and GET /health = 200',
    },
  });
  if (ready === undefined) throw new ProcessError("emulator: ready without a ready line");
  return { child, ready };
}

class RunningEmulator implements EmulatorProcess {
  constructor(
    private current: Launched,
    private readonly input: EmulatorArgsInput,
    private readonly options: StartEmulatorOptions,
    private readonly logger: Logger,
  ) {}

  get pid(): number {
    return this.current.child.pid;
  }
  get child(): ManagedChild {
    return this.current.child;
  }
  get ready(): EmulatorReadyInfo {
    return this.current.ready;
  }
  get host(): string {
    return this.input.host;
  }
  get amqpPort(): number {
    return this.current.ready.amqpPort;
  }
  get adminPort(): number {
    return this.current.ready.adminPort;
  }
  get adminUrl(): string {
    return `http://${connectHost(this.input.host)}:${this.adminPort}`;
  }
  get connectionString(): string {
    return this.current.ready.connectionString;
  }
  get keyName(): string {
    return this.current.ready.keyName;
  }
  get key(): string {
    return this.current.ready.key;
  }
  get dataDir(): string | undefined {
    return this.input.dataDir;
  }

  createHub(hub: EmulatorHubSpec): Promise<void> {
    return createEmulatorHub(this.adminUrl, hub);
  }

  async stop(): Promise<void> {
    await this.current.child.stop();
    this.logger.info({ amqpPort: this.amqpPort }, "emulator stopped");
  }

  async kill(): Promise<void> {
    await this.current.child.kill();
    this.logger.info({ amqpPort: this.amqpPort }, "emulator killed");
  }

  async restart(): Promise<void> {
    await this.current.child.stop();
    // Pin what the first start chose, so that clients' connection strings stay valid.
    const input: EmulatorArgsInput = {
      ...this.input,
      port: this.amqpPort,
      adminPort: this.adminPort,
      keyName: this.keyName,
      key: this.key,
    };
    await assertPortFree(input.port, input.host, "cannot restart the emulator (AMQP)");
    await assertPortFree(input.adminPort, input.host, "cannot restart the emulator (admin)");
    this.current = await launch(input, this.options, this.logger);
    this.logger.info({ pid: this.pid, amqpPort: this.amqpPort }, "emulator restarted");
  }
}

/**
 * Starts `ehw hub --json …` as a child process (through {@link ehwCommand}) and resolves once it
 * has printed its ready line and `GET /health` answers 200. A taken port, a bad flag, an early
 * exit or a timeout rejects with a {@link ProcessError}, and no process is left behind.
 */
export async function startEmulatorProcess(options: StartEmulatorOptions = {}): Promise<EmulatorProcess> {
  const logger = (options.logger ?? silentLogger()).child({ component: "emulator-process" });
  const input: EmulatorArgsInput = {
    host: options.host ?? LOCAL_HOST,
    port: options.port ?? 0,
    adminPort: options.adminPort ?? 0,
    dataDir: options.dataDir,
    hubs: options.hubs,
    configFile: options.configFile,
    retentionEvents: options.retentionEvents,
    retentionMs: options.retentionMs,
    keyName: options.keyName,
    key: options.key,
    logLevel: options.logLevel,
  };
  if (input.port !== 0) await assertPortFree(input.port, input.host, "cannot start the emulator (AMQP)");
  if (input.adminPort !== 0) {
    await assertPortFree(input.adminPort, input.host, "cannot start the emulator (admin)");
  }
  const launched = await launch(input, options, logger);
  const { amqpPort, adminPort } = launched.ready;
  logger.info({ pid: launched.child.pid, amqpPort, adminPort }, "emulator ready");
  return new RunningEmulator(launched, input, options, logger);
}
