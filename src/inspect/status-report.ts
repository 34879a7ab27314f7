/**
 * The status report: rows and totals with where they were read from, as text (a table for people)
 * and as one JSON document (for scripts). Pure: the report is built from a snapshot.
 */
import type { InspectTarget } from "./clients.js";
import { mixedPrefixWarning } from "./namespace-prefixes.js";
import type { StatusSnapshot } from "./snapshot.js";
import {
  computeStatusRows,
  computeStatusTotals,
  type PartitionStatusRow,
  type StatusTotals,
  strayPartitionIds,
} from "./status-rows.js";

/** Where a report was read from; hosts and names only, never a key. */
export interface ReportSource {
  readonly target: InspectTarget;
  readonly eventHubsHost: string;
  readonly storageHost: string;
  readonly containerName: string;
}

/** Everything `ehw status` prints. */
export interface StatusReport {
  readonly source: ReportSource;
  readonly readAtMs: number;
  readonly ownershipExpirationMs: number;
  /** The hub's retention as configured, ms; undefined = unknown. */
  readonly hubRetentionMs: number | undefined;
  readonly rows: readonly PartitionStatusRow[];
  /** Why a partition's oldest unprocessed event could not be read, by partition id. */
  readonly ageProblems: ReadonlyMap<string, string>;
  readonly totals: StatusTotals;
  /** Partition ids with records that are not partitions of the hub. */
  readonly strayPartitionIds: readonly string[];
  /** Namespace prefixes with records of this hub and consumer group; [] when not read. */
  readonly namespacePrefixes: readonly string[];
  /** Set when those records sit under more than one prefix (consumers that never meet). */
  readonly prefixWarning?: string;
}

/** Builds the report of a snapshot. */
export function buildStatusReport(
  snapshot: StatusSnapshot,
  source: ReportSource,
  ownershipExpirationMs: number,
  hubRetentionMs?: number,
): StatusReport {
  const { oldestUnprocessed, ...records } = snapshot;
  const rows = computeStatusRows({
    ...records,
    nowMs: snapshot.readAtMs,
    ownershipExpirationMs,
    retentionMs: hubRetentionMs,
    ...(oldestUnprocessed === undefined
      ? {}
      : { oldestUnprocessedEnqueuedTimeMs: oldestUnprocessed.enqueuedTimeMs }),
  });
  return {
    source,
    readAtMs: snapshot.readAtMs,
    ownershipExpirationMs,
    hubRetentionMs,
    rows,
    ageProblems: oldestUnprocessed?.problems ?? new Map(),
    totals: computeStatusTotals(rows),
    strayPartitionIds: strayPartitionIds(records),
    namespacePrefixes: snapshot.namespacePrefixes ?? [],
    ...prefixWarningOf(snapshot, source),
  };
}

function prefixWarningOf(snapshot: StatusSnapshot, source: ReportSource): { prefixWarning?: string } {
  const { fullyQualifiedNamespace, eventHubName, consumerGroup } = source.target;
  const warning = mixedPrefixWarning(
    snapshot.namespacePrefixes ?? [],
    fullyQualifiedNamespace,
    eventHubName,
    consumerGroup,
  );
  return warning === undefined ? {} : { prefixWarning: warning };
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * The JSON document of `ehw status --json`. Times are ISO-8601 strings; absent values are null;
 * `ownerId` is "" for a relinquished partition and null when there is no ownership record;
 * `expired` is true for expired and relinquished records, false for a live owner, null for none.
 */
export function statusJson(report: StatusReport): Record<string, unknown> {
  const { source } = report;
  return {
    fullyQualifiedNamespace: source.target.fullyQualifiedNamespace,
    eventHubName: source.target.eventHubName,
    consumerGroup: source.target.consumerGroup,
    eventHubsHost: source.eventHubsHost,
    storageHost: source.storageHost,
    containerName: source.containerName,
    readAt: iso(report.readAtMs),
    ownershipExpirationMs: report.ownershipExpirationMs,
    hubRetentionMs: report.hubRetentionMs ?? null,
    partitions: report.rows.map((row) => ({
      partitionId: row.partitionId,
      ownerId: row.ownerId ?? null,
      ownershipState: row.ownershipState,
      expired: row.ownershipState === "unowned" ? null : row.ownershipState !== "owned",
      lastRenewedAt: iso(row.lastRenewedMs),
      secondsSinceRenewal: row.secondsSinceRenewal ?? null,
      checkpoint: row.checkpoint ?? null,
      beginningSequenceNumber: row.beginningSequenceNumber,
      lastEnqueuedSequenceNumber: row.lastEnqueuedSequenceNumber,
      lastEnqueuedOffset: row.lastEnqueuedOffset,
      lastEnqueuedAt: iso(row.lastEnqueuedTimeMs),
      isEmpty: row.isEmpty,
      lag: row.lag,
      oldestUnprocessedEnqueuedAt:
        row.oldestUnprocessedEnqueuedTimeMs === null ? null : iso(row.oldestUnprocessedEnqueuedTimeMs),
      oldestUnprocessedAgeSeconds: row.oldestUnprocessedAgeSeconds ?? null,
      retentionLeftSeconds: row.retentionLeftSeconds ?? null,
      ageProblem: report.ageProblems.get(row.partitionId) ?? null,
    })),
    totals: report.totals,
    strayPartitionIds: report.strayPartitionIds,
    namespacePrefixes: report.namespacePrefixes,
    prefixWarning: report.prefixWarning ?? null,
  };
}

/** Whole seconds for a table cell; "-" when unknown. */
function seconds(value: number | undefined): string {
  return value === undefined ? "-" : `${Math.floor(value)} s`;
}

/** Left-aligned columns separated by two spaces. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

function ownerCell(row: PartitionStatusRow): string {
  if (row.ownerId === undefined) return "-";
  return row.ownerId === "" ? "(relinquished)" : row.ownerId;
}

function expiredCell(row: PartitionStatusRow): string {
  switch (row.ownershipState) {
    case "owned":
      return "no";
    case "expired":
      return "yes";
    case "relinquished":
      return "released";
    case "unowned":
      return "-";
  }
}

/** The table of `ehw status`, with a heading and the totals. */
export function renderStatusText(report: StatusReport): string {
  const { source, totals } = report;
  const heading =
    `event hub '${source.target.eventHubName}' on ${source.target.fullyQualifiedNamespace}, consumer group ` +
    `'${source.target.consumerGroup}'; records in container '${source.containerName}' on ${source.storageHost}; ` +
    `read ${iso(report.readAtMs)}; ownership expires after ${report.ownershipExpirationMs} ms`;
  const headers = [
    "PARTITION",
    "OWNER",
    "RENEWED",
    "EXPIRED",
    "CKPT SEQ",
    "CKPT OFFSET",
    "LAST SEQ",
    "LAG",
    "OLDEST AGE",
    ...(report.hubRetentionMs === undefined ? [] : ["RETENTION LEFT"]),
    "LAST ENQUEUED",
  ];
  const rows = report.rows.map((row) => [
    row.partitionId,
    ownerCell(row),
    row.secondsSinceRenewal === undefined ? "-" : `${row.secondsSinceRenewal} s ago`,
    expiredCell(row),
    row.checkpoint === undefined ? "-" : String(row.checkpoint.sequenceNumber),
    row.checkpoint === undefined ? "-" : row.checkpoint.offset,
    row.isEmpty ? "(empty)" : String(row.lastEnqueuedSequenceNumber),
    String(row.lag),
    seconds(row.oldestUnprocessedAgeSeconds),
    ...(report.hubRetentionMs === undefined ? [] : [seconds(row.retentionLeftSeconds)]),
    iso(row.lastEnqueuedTimeMs) ?? "-",
  ]);
  const perOwner = Object.entries(totals.partitionsPerOwner).map(([id, n]) => `${id}: ${n}`);
  const { byState } = totals;
  const lines = [
    heading,
    "",
    renderTable(headers, rows),
    "",
    `owners: ${totals.owners}${perOwner.length > 0 ? ` (${perOwner.join(", ")} partitions)` : ""}`,
    `partitions: ${totals.partitions} (owned ${byState.owned}, expired ${byState.expired}, relinquished ${byState.relinquished}, never owned ${byState.unowned})`,
    `total lag: ${totals.totalLag} events`,
  ];
  for (const [partitionId, problem] of report.ageProblems) {
    lines.push(`partition ${partitionId}: oldest unprocessed event not read: ${problem}`);
  }
  if (report.strayPartitionIds.length > 0) {
    lines.push(`records for partitions the hub does not have: ${report.strayPartitionIds.join(", ")}`);
  }
  return lines.join("\n");
}
