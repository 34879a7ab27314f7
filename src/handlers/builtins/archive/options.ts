/** The `archive` built-in's options: raw → defaults → validated. */
import { ConfigError } from "../../../common/errors.js";
import type { InitContext } from "../../contract.js";
import { DEFAULT_FILE_NAME_FORMAT, validateFileNameFormat } from "./naming.js";

/** Avro block codecs: `deflate` is Capture's; `null` stores blocks uncompressed. */
export const ARCHIVE_CODECS = ["deflate", "null"] as const;

/** An Avro block codec. */
export type ArchiveCodec = (typeof ARCHIVE_CODECS)[number];

/** Default window length, seconds (Capture's default). */
export const DEFAULT_WINDOW_SECONDS = 300;
/**
 * Default zlib level of the deflate codec. Level 3 costs about a third less CPU than zlib's 6 for
 * files 3-15% larger; Node's zlib runs its level 1 slower than 2 and 3 on Avro blocks.
 */
export const DEFAULT_DEFLATE_LEVEL = 3;
/** Default window size, bytes: 100 MiB (Capture's default is 300 MiB at most, 100 MiB usual). */
export const DEFAULT_WINDOW_BYTES = 100 * 1024 * 1024;

/** Options of the `archive` built-in (under `handlers.<name>.options`). */
export interface ArchiveHandlerOptions {
  /** Blob container of the archive (3-63 chars: lower-case letters, digits, single hyphens); required. */
  container: string;
  /**
   * Storage connection string of the archive's account (a secret). Default: the worker's checkpoint
   * storage, filled in by the config reader; give this or `storageAccountUrl` for another account.
   */
  storageConnectionString?: string;
  /** Storage account URL used with DefaultAzureCredential; default: the worker's, like above. */
  storageAccountUrl?: string;
  /** Capture's {Namespace}; default: from the worker's Event Hubs host, filled in by the config reader. */
  namespace?: string;
  /** Blob name format; default {@link DEFAULT_FILE_NAME_FORMAT}; `.avro` is appended. */
  fileNameFormat?: string;
  /** A file takes events for this many seconds after its first, then the next file starts; default 300, ≥ 1. */
  windowSeconds?: number;
  /** A file takes events until it holds this many bytes, then the next file starts; default 100 MiB, ≥ 1024. */
  windowBytes?: number;
  /** Avro codec: `deflate` (default, Capture's) or `null`. */
  codec?: string;
  /** zlib level of the deflate codec, 1 … 9 (smallest); default 3. Any level reads the same. */
  deflateLevel?: number;
  /** Create the container when missing; default true. */
  createContainer?: boolean;
}

/** The validated options. */
export interface CompiledArchiveOptions {
  readonly container: string;
  readonly storage: { readonly connectionString?: string; readonly accountUrl?: string };
  readonly namespace: string;
  readonly fileNameFormat: string;
  readonly windowMs: number;
  readonly windowBytes: number;
  readonly codec: ArchiveCodec;
  readonly deflateLevel: number;
  readonly createContainer: boolean;
}

const KEYS = [
  "container",
  "storageConnectionString",
  "storageAccountUrl",
  "namespace",
  "fileNameFormat",
  "windowSeconds",
  "windowBytes",
  "codec",
  "deflateLevel",
  "createContainer",
];

const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

function optionalString(raw: Record<string, unknown>, key: string, setting: string): string | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new ConfigError(`${setting}.${key}: must be a non-empty string`, {
      context: { setting: `${setting}.${key}` },
    });
  }
  return value;
}

function wholeNumber(
  raw: Record<string, unknown>,
  key: string,
  setting: string,
  min: number,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(
      `${setting}.${key}: must be a whole number ${range}, got ${JSON.stringify(value)}`,
      {
        context: { setting: `${setting}.${key}` },
      },
    );
  }
  return value;
}

/** Validates the options of handler instance `ctx.name`; throws ConfigError naming the option. */
export function compileArchiveOptions(
  raw: Record<string, unknown>,
  ctx: Pick<InitContext, "name">,
): CompiledArchiveOptions {
  const setting = `handlers.${ctx.name}.options`;
  for (const key of Object.keys(raw)) {
    if (!KEYS.includes(key)) {
      throw new ConfigError(
        `${setting}.${key}: unknown option of the archive built-in; allowed: ${KEYS.join(", ")}`,
        {
          context: { setting: `${setting}.${key}` },
        },
      );
    }
  }
  const container = raw.container;
  if (typeof container !== "string" || !CONTAINER_NAME.test(container)) {
    throw new ConfigError(
      `${setting}.container: required by the archive built-in: a blob container name (3-63 chars: lower-case letters, digits, single hyphens), got ${JSON.stringify(container)}`,
      { context: { setting: `${setting}.container` } },
    );
  }
  const connectionString = optionalString(raw, "storageConnectionString", setting);
  const accountUrl = optionalString(raw, "storageAccountUrl", setting);
  if ((connectionString === undefined) === (accountUrl === undefined)) {
    throw new ConfigError(
      `${setting}: set exactly one of storageConnectionString and storageAccountUrl (under a worker, both default to the worker's checkpoint storage)`,
      { context: { setting } },
    );
  }
  const namespace = optionalString(raw, "namespace", setting);
  if (namespace === undefined || namespace.includes("/")) {
    throw new ConfigError(
      `${setting}.namespace: required outside a worker: the Event Hubs namespace name for {Namespace}, without "/"`,
      { context: { setting: `${setting}.namespace` } },
    );
  }
  const codec = raw.codec ?? "deflate";
  if (typeof codec !== "string" || !(ARCHIVE_CODECS as readonly string[]).includes(codec)) {
    throw new ConfigError(
      `${setting}.codec: must be one of ${ARCHIVE_CODECS.join(", ")}, got ${JSON.stringify(codec)}`,
      {
        context: { setting: `${setting}.codec` },
      },
    );
  }
  const createContainer = raw.createContainer ?? true;
  if (typeof createContainer !== "boolean") {
    throw new ConfigError(`${setting}.createContainer: must be true or false`, {
      context: { setting: `${setting}.createContainer` },
    });
  }
  const format = optionalString(raw, "fileNameFormat", setting) ?? DEFAULT_FILE_NAME_FORMAT;
  return {
    container,
    storage: connectionString !== undefined ? { connectionString } : { accountUrl },
    namespace,
    fileNameFormat: validateFileNameFormat(format, `${setting}.fileNameFormat`),
    windowMs: wholeNumber(raw, "windowSeconds", setting, 1, DEFAULT_WINDOW_SECONDS) * 1000,
    windowBytes: wholeNumber(raw, "windowBytes", setting, 1024, DEFAULT_WINDOW_BYTES),
    codec: codec as ArchiveCodec,
    deflateLevel: wholeNumber(raw, "deflateLevel", setting, 1, DEFAULT_DEFLATE_LEVEL, 9),
    createContainer,
  };
}
