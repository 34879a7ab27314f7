/**
 * Output of `ehw checkpoints`: the checkpoint list, a reset plan (before → after per partition),
 * a refusal naming owners and partitions, and the outcome of the writes, as text and as JSON.
 */

import type { ResetOutcome, ResetPlan } from "./reset.js";
import {
  type CheckpointPosition,
  describeLiveOwners,
  describeResetTarget,
  isUnchanged,
} from "./reset-plan.js";
import type { ReportSource } from "./status-report.js";
import { renderTable } from "./status-report.js";
import type { CheckpointRecord } from "./status-rows.js";

/** JSON of `ehw checkpoints list --json`. */
export function checkpointListJson(
  source: ReportSource,
  checkpoints: readonly CheckpointRecord[],
): Record<string, unknown> {
  return {
    fullyQualifiedNamespace: source.target.fullyQualifiedNamespace,
    eventHubName: source.target.eventHubName,
    consumerGroup: source.target.consumerGroup,
    containerName: source.containerName,
    checkpoints: checkpoints.map((c) => ({
      partitionId: c.partitionId,
      sequenceNumber: c.sequenceNumber,
      offset: c.offset,
    })),
  };
}

/** Text of `ehw checkpoints list`. */
export function renderCheckpointList(source: ReportSource, checkpoints: readonly CheckpointRecord[]): string {
  const heading = `checkpoints of event hub '${source.target.eventHubName}' on ${source.target.fullyQualifiedNamespace}, consumer group '${source.target.consumerGroup}', in container '${source.containerName}' on ${source.storageHost}`;
  if (checkpoints.length === 0) return `${heading}\n\nno checkpoints`;
  const rows = checkpoints.map((c) => [c.partitionId, String(c.sequenceNumber), c.offset]);
  return `${heading}\n\n${renderTable(["PARTITION", "SEQUENCE NUMBER", "OFFSET"], rows)}`;
}

const position = (p: CheckpointPosition | undefined): string =>
  p === undefined ? "(none)" : `seq ${p.sequenceNumber} offset ${p.offset}`;

/**
 * Text of a plan: one line per partition, before → after, and the first event a worker will read.
 * `forced` is false for a dry run that was not given --force: a live owner is then only noted.
 */
export function renderResetPlan(plan: ResetPlan, forced = true): string {
  const headers = ["PARTITION", "BEFORE", "", "AFTER", "NEXT EVENT", "NOTE"];
  const rows = plan.entries.map((e) => [
    e.partitionId,
    position(e.before),
    "→",
    position(e.after),
    String(e.startSequenceNumber),
    [
      isUnchanged(e) ? "unchanged" : "",
      e.note ?? "",
      e.liveOwner === undefined ? "" : `${forced ? "forced: " : ""}owned by ${e.liveOwner.ownerId}`,
      e.handoverRequest === undefined
        ? ""
        : `hand-over request ${e.handoverRequest.from} → ${e.handoverRequest.to} removed`,
    ]
      .filter(Boolean)
      .join("; "),
  ]);
  return `reset to ${describeResetTarget(plan.target)}:\n${renderTable(headers, rows)}`;
}

/** The refusal: which partitions are held, by whom, and how to proceed. */
export function renderRefusal(plan: ResetPlan): string {
  return [
    `refusing to reset: live owners hold ${plan.liveOwners.length} of the chosen partitions; nothing was written`,
    ...describeLiveOwners(plan.liveOwners).map((line) => `  ${line}`),
    "Stop the workers (a stopped worker relinquishes its partitions; a crashed one's expire), or pass",
    "--force if these owners are known to be gone (a live worker keeps its position and overwrites the reset).",
  ].join("\n");
}

/** The outcome: which partitions were written and which were not, and why. */
export function renderResetOutcome(outcome: ResetOutcome): string {
  const lines: string[] = [];
  if (outcome.failed.length === 0) {
    lines.push(`reset ${outcome.written.length} partition(s): ${outcome.written.join(", ") || "none"}`);
    return [...lines, ...requestLines(outcome)].join("\n");
  }
  lines.push(
    `PARTIAL RESET: written ${outcome.written.length > 0 ? outcome.written.join(", ") : "none"}; NOT written ${outcome.failed.map((f) => f.partitionId).join(", ")}`,
  );
  for (const f of outcome.failed) lines.push(`  partition ${f.partitionId} not reset: ${f.error.message}`);
  lines.push(
    "Partitions not written keep their previous checkpoint; run the reset again for them (--partition).",
  );
  return [...lines, ...requestLines(outcome)].join("\n");
}

/** What became of the written partitions' hand-over requests. */
function requestLines(outcome: ResetOutcome): string[] {
  const lines: string[] = [];
  const removed = outcome.handoverRequestsRemoved;
  if (removed.length > 0) lines.push(`removed the hand-over requests of partition(s): ${removed.join(", ")}`);
  for (const f of outcome.handoverRequestsLeft) {
    lines.push(
      `  hand-over request of partition ${f.partitionId} not removed (it expires by itself): ${f.error.message}`,
    );
  }
  return lines;
}

/** JSON of `ehw checkpoints reset --json`: the plan, the refusal or the outcome. */
export function resetJson(
  source: ReportSource,
  plan: ResetPlan,
  dryRun: boolean,
  outcome: ResetOutcome | undefined,
): Record<string, unknown> {
  return {
    fullyQualifiedNamespace: source.target.fullyQualifiedNamespace,
    eventHubName: source.target.eventHubName,
    consumerGroup: source.target.consumerGroup,
    containerName: source.containerName,
    to: describeResetTarget(plan.target),
    dryRun,
    refused: plan.refused,
    liveOwners: plan.liveOwners,
    partitions: plan.entries.map((e) => ({
      partitionId: e.partitionId,
      before: e.before ?? null,
      after: e.after,
      startSequenceNumber: e.startSequenceNumber,
      note: e.note ?? null,
      forcedOwner: e.liveOwner?.ownerId ?? null,
      handoverRequest: e.handoverRequest ?? null,
    })),
    written: outcome?.written ?? [],
    failed: (outcome?.failed ?? []).map((f) => ({ partitionId: f.partitionId, error: f.error.message })),
    handoverRequestsRemoved: outcome?.handoverRequestsRemoved ?? [],
    handoverRequestsLeft: (outcome?.handoverRequestsLeft ?? []).map((f) => ({
      partitionId: f.partitionId,
      error: f.error.message,
    })),
  };
}
