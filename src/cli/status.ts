/**
 * `ehw status`: who owns which partition, how fresh each ownership is, where each checkpoint
 * stands and how far behind the consumer group is, read from the ownership and checkpoint blobs and
 * the hub's partition properties.
 *
 * Output contract: stdout carries only the table (or one JSON document with `--json`); errors go
 * to stderr as one line. Exit codes: 0 read, 1 something could not be read (unreachable or refusing
 * storage or hub, missing container, unknown hub), 2 a bad command line or setting.
 */
import { EhwError } from "../common/errors.js";
import { type CommandFlagSpec, readRawInspectOptions } from "../config/command-source.js";
import { WORKER_DEFAULTS } from "../config/worker.js";
import {
  buildStatusReport,
  compileInspectConfig,
  type InspectClients,
  type InspectConfig,
  openInspectClients,
  type ReportSource,
  readStatusSnapshot,
  renderStatusText,
  type StatusSnapshot,
  statusJson,
} from "../inspect/index.js";
import { redactSecrets } from "../observability/logger.js";

/** Exit code: something could not be read or written. */
export const EXIT_FAILED = 1;
/** Exit code: bad command line or setting. */
export const EXIT_USAGE = 2;

/** Help lines of the connection settings shared by `ehw status` and `ehw checkpoints`. */
export const CONNECTION_HELP = `connection (same flags, EHW_* variables and config file keys as 'ehw run'):
  --eventhub-connection-string CS   env EHW_EVENTHUB_CONNECTION_STRING
  --eventhub-namespace HOST         env EHW_EVENTHUB_NAMESPACE (with DefaultAzureCredential)
  --eventhub-name NAME              env EHW_EVENTHUB_NAME (or EntityPath in the connection string)
  --consumer-group NAME             env EHW_CONSUMER_GROUP (default $Default)
  --storage-connection-string CS    env EHW_STORAGE_CONNECTION_STRING
  --storage-account-url URL         env EHW_STORAGE_ACCOUNT_URL (with DefaultAzureCredential)
  --container-name NAME             env EHW_CONTAINER_NAME
  --ownership-expiration-ms MS      env EHW_OWNERSHIP_EXPIRATION_MS (default ${WORKER_DEFAULTS.ownershipExpirationMs}); use the fleet's
                                    value: an ownership not renewed for this long has expired
  --config PATH                     env EHW_CONFIG; the worker's JSON config file
Prefer env vars for connection strings: flags are visible in the process list.`;

const HELP = `usage: ehw status [options]

Shows, per partition of the hub: the owner (from the ownership blob; "(relinquished)" when a
worker shut down cleanly), seconds since the owner last renewed, whether that ownership has
expired, the checkpoint (sequence number and offset), the last enqueued sequence number and time,
and the lag. Totals follow: live owners, partitions per owner, total lag.

Lag is the number of retained events after the checkpoint: last enqueued - checkpoint sequence
number; without a checkpoint, last enqueued + 1 - first retained; 0 for an empty partition. Events
already removed by retention are not counted. KEDA's azure-eventhub scaler (blobMetadata) reads the
same checkpoint blobs and gets the same figure.

OLDEST AGE is how long ago the first event after the checkpoint was enqueued (one event is read per
partition with a lag, by a receiver without an epoch). While a worker holds a partition, the
service refuses that receiver in the workers' consumer group: pass --peek-consumer-group with
another consumer group of the hub to read the age then. With --hub-retention-ms (the hub's
retention), RETENTION LEFT is the time before retention may drop that event.

options:
  --json                      print one JSON document instead of the table
  --peek-consumer-group NAME  read the first unprocessed events through this consumer group
  --no-age                    read no event (no OLDEST AGE)
  --hub-retention-ms MS       env EHW_HUB_RETENTION_MS; the hub's message retention
  -h, --help

${CONNECTION_HELP}

Exit codes: 0 read; 1 something could not be read; 2 bad command line or setting.`;

/** Reads the options of an operator command, or prints help / the problem; undefined = exit now. */
export function readInspectCommand(
  command: string,
  argv: string[],
  flags: Readonly<Record<string, CommandFlagSpec>>,
  help: string,
  env?: NodeJS.ProcessEnv,
):
  | { config: InspectConfig; flags: Readonly<Record<string, string | boolean | string[] | undefined>> }
  | { exitCode: number } {
  try {
    const read = readRawInspectOptions(command, argv, flags, env);
    if (read.help) {
      console.log(help);
      return { exitCode: 0 };
    }
    return { config: compileInspectConfig(read.raw), flags: read.flags };
  } catch (err) {
    return { exitCode: reportError(command, err, EXIT_USAGE) };
  }
}

/** Prints an error as one line on stderr (no stack, no secret) and returns the exit code. */
export function reportError(command: string, err: unknown, exitCode: number): number {
  if (!(err instanceof EhwError)) throw err;
  console.error(`ehw ${command}: ${redactSecrets(err.message)}`);
  return exitCode;
}

/** Opens the clients, runs `body`, closes them; an EhwError becomes one line and exit code 1. */
export async function withInspectClients(
  command: string,
  config: InspectConfig,
  body: (clients: InspectClients, source: ReportSource) => Promise<number>,
): Promise<number> {
  let clients: InspectClients;
  try {
    clients = openInspectClients(config);
  } catch (err) {
    return reportError(command, err, EXIT_USAGE);
  }
  const source: ReportSource = {
    target: clients.target,
    eventHubsHost: clients.eventHubsHost,
    storageHost: clients.storageHost,
    containerName: clients.containerName,
  };
  try {
    return await body(clients, source);
  } catch (err) {
    return reportError(command, err, EXIT_FAILED);
  } finally {
    await clients.close().catch(() => undefined);
  }
}

/** Entry point of `ehw status`; `env` defaults to the process environment. */
export async function main(argv: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  const read = readInspectCommand(
    "status",
    argv,
    { json: { type: "boolean" }, "peek-consumer-group": { type: "string" }, "no-age": { type: "boolean" } },
    HELP,
    env,
  );
  if ("exitCode" in read) return read.exitCode;
  const { config, flags } = read;
  return withInspectClients("status", config, async (clients, source) => {
    const peekGroup = flags["peek-consumer-group"];
    const peekClients =
      typeof peekGroup === "string" && flags["no-age"] !== true
        ? openInspectClients({ ...config, eventHubs: { ...config.eventHubs, consumerGroup: peekGroup } })
        : undefined;
    let snapshot: StatusSnapshot;
    try {
      snapshot = await readStatusSnapshot(clients, {
        peek: flags["no-age"] === true ? false : (peekClients?.consumer ?? clients.consumer),
      });
    } finally {
      await peekClients?.close().catch(() => undefined);
    }
    const report = buildStatusReport(snapshot, source, config.ownershipExpirationMs, config.hubRetentionMs);
    if (report.prefixWarning !== undefined) console.error(`ehw status: warning: ${report.prefixWarning}`);
    console.log(flags.json === true ? JSON.stringify(statusJson(report), null, 2) : renderStatusText(report));
    return 0;
  });
}
