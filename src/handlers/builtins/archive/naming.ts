/**
 * Blob names of the archive: Capture's path fields plus the file's first sequence number, which
 * makes a file's name a function of its partition and first event only. A replay after a crash
 * starts the same file from the same event and so writes the same blob, never a second copy.
 */
import { ConfigError } from "../../../common/errors.js";

/** The fields a file name format may use. */
export const NAME_FIELDS = [
  "Namespace",
  "EventHub",
  "PartitionId",
  "Year",
  "Month",
  "Day",
  "Hour",
  "Minute",
  "Second",
  "FirstSequenceNumber",
] as const;

/** A field of a file name format. */
export type NameField = (typeof NAME_FIELDS)[number];

/** Fields every format must contain: without them two files could get one name. */
export const REQUIRED_NAME_FIELDS: readonly NameField[] = ["PartitionId", "FirstSequenceNumber"];

/**
 * Capture's default format, `{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/
 * {Minute}/{Second}`, with `-{FirstSequenceNumber}` after the second; `.avro` is appended.
 */
export const DEFAULT_FILE_NAME_FORMAT =
  "{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}-{FirstSequenceNumber}";

/** Prefix of the per-partition head blobs; Spark and Hadoop skip paths starting with "_". */
export const HEAD_PREFIX = "_ehw-archive/heads";

/** What a file's name is made of. */
export interface FileIdentity {
  /** Namespace name (the first label of the host), or the emulator's host. */
  namespace: string;
  eventHubName: string;
  partitionId: string;
  /** Enqueued time of the file's first event; the path's date and time fields, in UTC. */
  firstEnqueuedTime: Date;
  /** Sequence number of the file's first event. */
  firstSequenceNumber: number;
}

const FIELD_PATTERN = /\{([^{}]*)\}/g;

/** Checks a format: known fields only, the required ones present, a blob name of sane shape. */
export function validateFileNameFormat(format: string, setting: string): string {
  if (format.trim() === "") throw new ConfigError(`${setting}: must not be empty`, { context: { setting } });
  const used = new Set<string>();
  for (const match of format.matchAll(FIELD_PATTERN)) {
    const field = match[1] ?? "";
    if (!(NAME_FIELDS as readonly string[]).includes(field)) {
      throw new ConfigError(
        `${setting}: unknown field {${field}}; allowed: ${NAME_FIELDS.map((f) => `{${f}}`).join(", ")}`,
        { context: { setting } },
      );
    }
    used.add(field);
  }
  const missing = REQUIRED_NAME_FIELDS.filter((f) => !used.has(f));
  if (missing.length > 0) {
    throw new ConfigError(
      `${setting}: must contain ${missing.map((f) => `{${f}}`).join(" and ")}, which make each file's name unique and let a replay rewrite the same file`,
      { context: { setting } },
    );
  }
  if (format.startsWith("/") || format.includes("//") || format.startsWith("_ehw-archive")) {
    throw new ConfigError(
      `${setting}: must not start with "/" or "_ehw-archive" nor contain "//" (blob names are paths)`,
      { context: { setting } },
    );
  }
  return format;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** The blob name of a file: the format's fields filled in, then `.avro`. */
export function fileBlobName(format: string, id: FileIdentity): string {
  const t = id.firstEnqueuedTime;
  const values: Record<NameField, string> = {
    Namespace: id.namespace,
    EventHub: id.eventHubName,
    PartitionId: id.partitionId,
    Year: pad(t.getUTCFullYear(), 4),
    Month: pad(t.getUTCMonth() + 1),
    Day: pad(t.getUTCDate()),
    Hour: pad(t.getUTCHours()),
    Minute: pad(t.getUTCMinutes()),
    Second: pad(t.getUTCSeconds()),
    FirstSequenceNumber: String(id.firstSequenceNumber),
  };
  return `${format.replace(FIELD_PATTERN, (_, field: NameField) => values[field])}.avro`;
}

/** The head blob of a partition: names the partition's newest file. */
export function headBlobName(namespace: string, eventHubName: string, partitionId: string): string {
  return `${HEAD_PREFIX}/${namespace}/${eventHubName}/${partitionId}.json`;
}
