/**
 * `ehw hub`: runs the local Event Hubs emulator until SIGTERM/SIGINT.
 *
 * Output contract (others start this as a child process): with `--json`, exactly one line on
 * stdout once both listeners are bound:
 * `{"event":"ready","amqpPort":N,"adminPort":M,"host":"127.0.0.1","connectionString":"…","keyName":"…","key":"…","hubs":[{"name":"eh1","partitionCount":4}]}`,
 * with `tlsPort`, `tlsConnectionString` and `caFile` (null for given certificate files) added
 * when `--tls-port` opens the amqps listener.
 * Without it, a short human summary. Logs are pino JSON on stderr (default level `warn`).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError } from "../common/errors.js";
import {
  DEFAULT_ADMIN_PORT,
  DEFAULT_AMQP_PORT,
  DEFAULT_HOST,
  DEFAULT_KEY_NAME,
  DEFAULT_TLS_PORT,
  isLoopbackHost,
  parseConfigFile,
  parseHubFlag,
  type RawEmulatorConfig,
} from "../emulator/config.js";
import { type EmulatorServer, startEmulator } from "../emulator/index.js";
import { createLogger } from "../observability/logger.js";

const USAGE = `usage: ehw hub [options]

Runs a local Event Hubs emulator (AMQP 1.0) for the Event Hubs SDK.

options:
  --port N                 AMQP port (default ${DEFAULT_AMQP_PORT}; 0 = any free port)
  --admin-port N           admin HTTP port: /health, /hubs, /faults/* (default ${DEFAULT_ADMIN_PORT}; 0 = any free port)
  --host HOST              AMQP listen host (default ${DEFAULT_HOST})
  --admin-host HOST        admin listen host (default ${DEFAULT_HOST}); off loopback it needs --admin-token
  --admin-token TOKEN      require "Authorization: Bearer TOKEN" on every admin route but GET /health
  --hub name[:partitions[:cg1,cg2]]
                           a hub; repeatable; replaces the config file's hubs
                           (default: one hub 'eh1' with 4 partitions and $Default)
  --config FILE            JSON config: our shape or the Microsoft emulator's Config.json
  --key-name NAME          SAS key name (default ${DEFAULT_KEY_NAME})
  --key KEY                SAS key (default: a fixed, published development key)
  --data DIR               persist partition logs and hubs in DIR (default: in memory)
  --retention-events N     keep at most N events per partition
  --retention-ms N         drop events older than N ms
  --tls-port N             also listen for amqps (TLS) on N, as Event Hubs does on ${DEFAULT_TLS_PORT}, for
                           SDKs without UseDevelopmentEmulator; 0 = any free port
  --tls-cert FILE          PEM certificate (chain) for --tls-port (default: a development CA and
                           certificate made at start; the CA file to trust is printed)
  --tls-key FILE           PEM private key of --tls-cert
  --log-level LEVEL        pino level for stderr logs (default warn)
  --json                   print one JSON 'ready' line on stdout instead of the summary
  --help                   show this help`;

/** Entry point of `ehw hub`; resolves with the exit code after a signal-driven shutdown. */
export async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (err) {
    console.error(`ehw hub: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const raw = rawConfig(values);
  const logger = createLogger({
    level: values["log-level"] ?? "warn",
    fd: 2,
    base: { component: "ehw-hub" },
  });
  // Listening before the ready line goes out: a supervisor may signal as soon as it reads it, and
  // a signal with no listener yet would end the process without closing (the CA file left behind).
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  const emulator = await startEmulator(raw, logger);
  const ready = {
    event: "ready",
    amqpPort: emulator.amqpPort,
    adminPort: emulator.adminPort,
    host: emulator.config.host,
    connectionString: emulator.connectionString(),
    keyName: emulator.config.keyName,
    key: emulator.config.key,
    hubs: emulator.hubs().map((h) => ({ name: h.name, partitionCount: h.partitionCount })),
    ...(emulator.tlsPort === undefined
      ? {}
      : {
          tlsPort: emulator.tlsPort,
          tlsConnectionString: emulator.tlsConnectionString(),
          caFile: emulator.caFile ?? null,
        }),
  };
  for (const [what, host] of [
    ["AMQP", emulator.config.host],
    ["admin", emulator.config.adminHost],
  ] as const) {
    if (isLoopbackHost(host)) continue;
    // Other hosts can reach it, and the default key is published: say so every time.
    logger.warn({ listener: what, host }, "listener is not on loopback");
    console.error(`ehw hub: warning: the ${what} listener on ${host} is reachable from other hosts`);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  } else {
    const hubs = ready.hubs.map((h) => `${h.name} (${h.partitionCount} partitions)`).join(", ");
    console.log(
      `Event Hubs emulator listening on amqp://${ready.host}:${ready.amqpPort}, admin http://${emulator.config.adminHost}:${ready.adminPort}`,
    );
    console.log(`hubs: ${hubs}`);
    console.log(`connection string:\n  ${ready.connectionString}`);
    printTls(emulator);
  }
  const signal = await stopSignal;
  logger.info({ signal }, "shutting down");
  await emulator.close();
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return 0;
}

/** The amqps listener's address, connection string and the CA to trust, when there is one. */
function printTls(emulator: EmulatorServer): void {
  if (emulator.tlsPort === undefined) return;
  console.log(
    `amqps (TLS) on amqps://${emulator.config.host}:${emulator.tlsPort}; connection string:\n  ${emulator.tlsConnectionString()}`,
  );
  if (emulator.caFile !== undefined) {
    console.log(
      `development CA to trust (removed when the emulator stops): ${emulator.caFile}\n  Node: NODE_EXTRA_CA_CERTS=${emulator.caFile}  Python: connection_verify="${emulator.caFile}"`,
    );
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: "string" },
      "admin-port": { type: "string" },
      "admin-host": { type: "string" },
      "admin-token": { type: "string" },
      host: { type: "string" },
      hub: { type: "string", multiple: true },
      config: { type: "string" },
      "key-name": { type: "string" },
      key: { type: "string" },
      data: { type: "string" },
      "retention-events": { type: "string" },
      "retention-ms": { type: "string" },
      "tls-port": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "log-level": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  }).values;
}

/** Flags over the config file over defaults (defaults are applied by the emulator). */
function rawConfig(values: ReturnType<typeof parse>): RawEmulatorConfig {
  let raw: RawEmulatorConfig = {};
  if (values.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(values.config, "utf8");
    } catch (err) {
      throw new ConfigError(`--config: cannot read ${values.config}`, {
        cause: err,
        context: { setting: "config" },
      });
    }
    raw = parseConfigFile(text, values.config);
  }
  const flags: RawEmulatorConfig = {
    host: values.host,
    amqpPort: values.port,
    adminPort: values["admin-port"],
    adminHost: values["admin-host"],
    adminToken: values["admin-token"],
    hubs: values.hub?.map(parseHubFlag),
    keyName: values["key-name"],
    key: values.key,
    dataDir: values.data,
    retentionEvents: values["retention-events"],
    retentionMs: values["retention-ms"],
    tlsPort: values["tls-port"],
    tlsCertFile: values["tls-cert"],
    tlsKeyFile: values["tls-key"],
  };
  for (const [name, value] of Object.entries(flags)) {
    if (value !== undefined) (raw as Record<string, unknown>)[name] = value;
  }
  return raw;
}
