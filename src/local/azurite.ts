/**
 * Azurite's blob service as a child process on a loopback port, for the checkpoint store in
 * development, tests and drills. Only the blob service runs: checkpoints need nothing else.
 */
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ProcessError } from "../common/errors.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import { type ManagedChild, startChild } from "./child.js";
import { httpStatus } from "./http-probe.js";
import { assertPortFree, freePort, isPortFree, LOCAL_HOST } from "./ports.js";

/** Account name Azurite serves by default (well known, not a secret). */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";
/** Account key Azurite accepts by default (published in its documentation, not a secret). */
export const AZURITE_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** Options of {@link startAzurite}. */
export interface StartAzuriteOptions {
  /** Address the blob service listens on; default "127.0.0.1". */
  host?: string;
  /** Blob service port; 0 or omitted picks a free one. */
  port?: number;
  /** Workspace directory; default: a new temporary directory, removed by `stop()`. */
  dataDir?: string;
  /** Logger for lifecycle events and (at debug level) Azurite's output; default silent. */
  logger?: Logger;
  /** Milliseconds to wait for the blob endpoint to answer; default 30000. */
  readyTimeoutMs?: number;
  /** Complete environment of the child process; default: inherited. */
  env?: NodeJS.ProcessEnv;
}

/** A running Azurite blob service. */
export interface AzuriteProcess {
  /** PID of the Azurite server process (changes on `restart()`). */
  readonly pid: number;
  /** Listening address. */
  readonly host: string;
  /** Listening port; kept across `restart()`. */
  readonly port: number;
  /** `http://<host>:<port>/devstoreaccount1`. */
  readonly blobEndpoint: string;
  /** Storage connection string for the well-known development account. */
  readonly connectionString: string;
  /** Workspace directory; kept across `restart()` and `kill()`. */
  readonly dataDir: string;
  /** The current child process. */
  readonly child: ManagedChild;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s); removes the data directory if it was ours. */
  stop(): Promise<void>;
  /** SIGKILLs the server, as a crash would; the data directory stays for a later `restart()`. */
  kill(): Promise<void>;
  /** Stops the server if it runs and starts it again on the same port and data directory. */
  restart(): Promise<void>;
}

/** Absolute path of the JS file behind azurite's `azurite-blob` bin, so the PID is the server's. */
export function resolveAzuriteBlobEntry(): string {
  const require = createRequire(import.meta.url);
  const packageJsonPath = require.resolve("azurite/package.json");
  const pkg = JSON.parse(readFileSync(packageJsonPath, "utf8")) as { bin?: Record<string, string> };
  const bin = pkg.bin?.["azurite-blob"];
  if (bin === undefined) {
    throw new ProcessError(`azurite at ${dirname(packageJsonPath)} has no "azurite-blob" bin entry`);
  }
  return resolve(dirname(packageJsonPath), bin);
}

/** The storage connection string for Azurite's development account at `http://host:port`. */
export function azuriteConnectionString(host: string, port: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};` +
    `BlobEndpoint=http://${host}:${port}/${AZURITE_ACCOUNT_NAME};`
  );
}

/**
 * The arguments after `node` that run Azurite's blob service. Its access log (a line per request,
 * which cost Azurite about a sixth of its CPU under a worker checkpointing a few hundred times a
 * second) is on only when `accessLog` says so: when its output is shown, at debug level.
 */
export function azuriteArgs(
  entry: string,
  host: string,
  port: number,
  dataDir: string,
  accessLog = false,
): string[] {
  return [
    entry,
    "--blobHost",
    host,
    "--blobPort",
    String(port),
    "--location",
    dataDir,
    "--disableTelemetry",
    "--loose",
    "--skipApiVersionCheck",
    ...(accessLog ? [] : ["--silent"]),
  ];
}

interface AzuriteSettings {
  host: string;
  dataDir: string;
  ownsDataDir: boolean;
  logger: Logger;
  readyTimeoutMs: number;
  env: NodeJS.ProcessEnv | undefined;
}

async function launch(settings: AzuriteSettings, port: number): Promise<ManagedChild> {
  const { host } = settings;
  return startChild({
    name: "azurite",
    command: process.execPath,
    args: azuriteArgs(
      resolveAzuriteBlobEntry(),
      host,
      port,
      settings.dataDir,
      settings.logger.isLevelEnabled("debug"),
    ),
    env: settings.env,
    logger: settings.logger,
    ready: {
      // Any HTTP answer (even 400 for a request without auth) means the server is listening.
      probe: async () => (await httpStatus(`http://${host}:${port}/${AZURITE_ACCOUNT_NAME}?comp=list`)) > 0,
      timeoutMs: settings.readyTimeoutMs,
      what: `the blob endpoint on ${host}:${port} to answer`,
    },
  });
}

class RunningAzurite implements AzuriteProcess {
  readonly blobEndpoint: string;
  readonly connectionString: string;

  constructor(
    private current: ManagedChild,
    readonly port: number,
    private readonly settings: AzuriteSettings,
  ) {
    this.blobEndpoint = `http://${settings.host}:${port}/${AZURITE_ACCOUNT_NAME}`;
    this.connectionString = azuriteConnectionString(settings.host, port);
  }

  get pid(): number {
    return this.current.pid;
  }
  get host(): string {
    return this.settings.host;
  }
  get dataDir(): string {
    return this.settings.dataDir;
  }
  get child(): ManagedChild {
    return this.current;
  }

  async stop(): Promise<void> {
    try {
      await this.current.stop();
      this.settings.logger.info({ port: this.port }, "azurite stopped");
    } finally {
      if (this.settings.ownsDataDir) await rm(this.settings.dataDir, { recursive: true, force: true });
    }
  }

  async kill(): Promise<void> {
    await this.current.kill();
    this.settings.logger.info({ port: this.port }, "azurite killed");
  }

  async restart(): Promise<void> {
    await this.current.stop();
    await assertPortFree(this.port, this.settings.host, "cannot restart azurite");
    this.current = await launch(this.settings, this.port);
    this.settings.logger.info({ pid: this.current.pid, port: this.port }, "azurite restarted");
  }
}

async function launchOnFreePort(settings: AzuriteSettings): Promise<{ child: ManagedChild; port: number }> {
  const port = await freePort(settings.host);
  try {
    return { child: await launch(settings, port), port };
  } catch (err) {
    // Someone may have taken the free port between our probe and Azurite's bind: retry once.
    if (!(err instanceof ProcessError) || (await isPortFree(port, settings.host))) throw err;
    settings.logger.warn({ port }, "free port was taken before azurite bound it; retrying once");
    const retryPort = await freePort(settings.host);
    return { child: await launch(settings, retryPort), port: retryPort };
  }
}

/**
 * Starts Azurite's blob service (`node <azurite-blob entry> --blobHost … --blobPort … --location …
 * --disableTelemetry --loose --skipApiVersionCheck`) and resolves once its endpoint answers HTTP.
 * A port that is taken, or a server that exits or does not answer in time, rejects with a
 * {@link ProcessError}, and no process is left behind.
 */
export async function startAzurite(options: StartAzuriteOptions = {}): Promise<AzuriteProcess> {
  const host = options.host ?? LOCAL_HOST;
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "ehw-azurite-")));
  if (!ownsDataDir) await mkdir(dataDir, { recursive: true });
  const settings: AzuriteSettings = {
    host,
    dataDir,
    ownsDataDir,
    logger: (options.logger ?? silentLogger()).child({ component: "azurite" }),
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    env: options.env,
  };
  try {
    let started: { child: ManagedChild; port: number };
    if (options.port === undefined || options.port === 0) {
      started = await launchOnFreePort(settings);
    } else {
      await assertPortFree(options.port, host, "cannot start azurite");
      started = { child: await launch(settings, options.port), port: options.port };
    }
    settings.logger.info({ pid: started.child.pid, port: started.port, dataDir }, "azurite ready");
    return new RunningAzurite(started.child, started.port, settings);
  } catch (err) {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
