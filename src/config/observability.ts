/**
 * The observability settings of `ehw run`: the metrics and health server (metricsPort,
 * metricsHost), the periodic status line (statusIntervalMs) and the hub's retention for the lag
 * figures (hubRetentionMs). Compiled here, as one more section
 * of the WorkerConfig, from raw settings that already carry their defaults.
 *
 * The Worker class never listens on anything itself: library users who want the endpoints start
 * `startWorkerObservability` (or the server alone) themselves; `ehw run` does it by default.
 */
import { ConfigError } from "../common/errors.js";
import type { RawSetting, RawWorkerOptions, SettingKey } from "./settings.js";
import { compileTracingConfig, type TracingConfig } from "./tracing.js";
import { parseInteger, parseString, reject } from "./values.js";

/** The compiled observability section of WorkerConfig. */
export interface ObservabilityConfig {
  /**
   * TCP port of `/metrics`, `/healthz` and `/readyz` in `ehw run`; default 9464; 0 = a free port
   * (logged); undefined = no server, no metrics (setting value `off`).
   */
  readonly metricsPort: number | undefined;
  /**
   * True when metricsPort is the default rather than set: then a taken port only logs a warning
   * (several workers on one machine), while a port that was asked for must be bound or the start fails.
   */
  readonly metricsPortIsDefault: boolean;
  /** Interface the server listens on; default `127.0.0.1`. Containers set `0.0.0.0`. */
  readonly metricsHost: string;
  /** Milliseconds between `worker status` log lines; default 0 = none. */
  readonly statusIntervalMs: number;
  /**
   * The hub's message retention, milliseconds, for the time-left-before-retention figures;
   * default undefined = unknown (the data plane does not report it).
   */
  readonly hubRetentionMs?: number | undefined;
  /** Spans per handler attempt; default off. */
  readonly tracing?: TracingConfig;
}

/** Highest TCP port. */
const MAX_PORT = 65_535;

/** Compiles the observability settings; `raw` has its defaults applied. Throws ConfigError. */
export function compileObservabilityConfig(raw: RawWorkerOptions): ObservabilityConfig {
  const portSetting = present(raw, "metricsPort");
  return {
    metricsPort: compilePort(portSetting),
    metricsPortIsDefault: portSetting.source.kind === "default",
    metricsHost: parseString("metricsHost", present(raw, "metricsHost")),
    statusIntervalMs: parseInteger("statusIntervalMs", present(raw, "statusIntervalMs"), 0),
    hubRetentionMs:
      raw.hubRetentionMs === undefined ? undefined : parseInteger("hubRetentionMs", raw.hubRetentionMs, 1),
    tracing: compileTracingConfig(raw),
  };
}

function compilePort(setting: RawSetting): number | undefined {
  if (setting.value === "off") return undefined;
  let port: number | undefined;
  try {
    port = parseInteger("metricsPort", setting, 0);
  } catch {
    // Reported below with the message that names every allowed value, `off` included.
  }
  if (port === undefined || port > MAX_PORT) {
    return reject("metricsPort", setting, `is not a TCP port (0-${MAX_PORT}) or off`);
  }
  return port;
}

function present(raw: RawWorkerOptions, key: SettingKey): RawSetting {
  const setting = raw[key];
  if (setting === undefined) {
    throw new ConfigError(`${key} has no value and no default`, { context: { setting: key } });
  }
  return setting;
}
