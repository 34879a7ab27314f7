import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** pino level; default "info". "silent" turns logging off. */
  level?: string;
  /** Base fields on every line (e.g. `{ workerId }`). */
  base?: Record<string, unknown>;
  /** Destination file descriptor; default 1 (stdout). Use 2 for CLIs whose stdout is data. */
  fd?: number;
}

/** Field paths whose values are secrets; pino replaces them with "[redacted]". */
const REDACT_PATHS = [
  "connectionString",
  "*.connectionString",
  "storageConnectionString",
  "*.storageConnectionString",
  "key",
  "*.key",
  "sasKey",
  "*.sasKey",
  "token",
  "*.token",
  "sharedAccessKey",
  "*.sharedAccessKey",
];

/** Creates the process logger: pino JSON, secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: options.base ?? {},
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: options.fd ?? 1, sync: false }),
  );
}

/** A logger that writes nothing; for tests and library use without a logger. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * Removes secrets from free text such as a connection string or an SDK error message:
 * `SharedAccessKey=…`, `AccountKey=…`, `sig=…` and `SharedAccessSignature …` values.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(SharedAccessKey|AccountKey|SharedAccessSignature)=([^;]+)/gi, "$1=[redacted]")
    .replace(/([?&]sig=)[^&\s;]+/gi, "$1[redacted]")
    .replace(/SharedAccessSignature sr=[^\s;]+/g, "SharedAccessSignature [redacted]");
}
