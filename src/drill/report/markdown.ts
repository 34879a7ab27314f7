/**
 * The drill report for a person: scenario, seed, settings, the faults with their failover times,
 * the invariants, duplicates per crash and throughput. Pure: a string from the report.
 */
import type { FaultFailover, Spread } from "../failover.js";
import type { FaultRecord } from "../types.js";
import { causeLabel } from "../verdict.js";
import { type DrillReport, faultName } from "./model.js";

function seconds(ms: number | undefined): string {
  return ms === undefined ? "–" : `${(ms / 1000).toFixed(2)} s`;
}

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

function faultRow(report: DrillReport, fault: FaultRecord, failover: FaultFailover | undefined): string[] {
  const at = seconds(fault.atMs - report.run.startedAtMs);
  const who =
    fault.victim === undefined
      ? (fault.started ?? "")
      : `${fault.victim}${fault.started ? ` → ${fault.started}` : ""}`;
  const partitions =
    fault.victimPartitions === undefined ? "all" : fault.victimPartitions.join(", ") || "none";
  const dupKey =
    fault.kind === "kill" || fault.kind === "term"
      ? `${fault.kind}@${fault.index}`
      : `reconnect@${fault.index}`;
  const dups = report.verdict.duplicates.byCause[dupKey] ?? 0;
  const byCause = report.verdict.duplicates.byCause;
  const steals = (byCause[`rebalance@${fault.index}`] ?? 0) + (byCause[`steal@${fault.index}`] ?? 0);
  return [
    faultName(fault),
    at,
    who,
    fault.kind === "add" ? "–" : partitions,
    seconds(failover?.ownedAgainMs),
    seconds(failover?.resumedMs),
    String(dups),
    String(steals),
  ];
}

function spreadText(s: Spread): string {
  return s.count === 0 ? "–" : `${seconds(s.medianMs)} / ${seconds(s.maxMs)}`;
}

function scenarioLines(report: DrillReport): string[] {
  const { scenario, settings, run } = report;
  const faults = Object.entries(scenario.faults)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([kind, n]) => `${n} × ${kind}`)
    .join(", ");
  const flags = Object.entries(run.workerFlags)
    .map(([flag, value]) => `\`${flag} ${value}\``)
    .join(" ");
  return [
    `- Seed: **${scenario.seed}**; ${scenario.workers} workers, ${scenario.partitions} partitions, ${scenario.events} events` +
      (scenario.keys > 0 ? ` over ${scenario.keys} keys` : " without keys") +
      (scenario.ratePerSecond === undefined ? "" : ` at ${scenario.ratePerSecond} events/s`),
    `- Faults: ${faults || "none"}`,
    `- Worker settings: ${flags}`,
    `- Ordering ${settings.ordering}, checkpoint every ${settings.checkpointEvery}, concurrency ${settings.concurrency}, max batch ${settings.maxBatchSize}`,
    `- Duration: ${seconds(run.endedAtMs - run.startedAtMs)} after the stack started (in ${seconds(run.stackStartupMs)}); sending took ${run.send.seconds.toFixed(1)} s` +
      (run.send.retriedBatches > 0
        ? ` (${run.send.retriedBatches} batches sent again after a failed attempt)`
        : ""),
  ];
}

const NO_SPREAD: Spread = { count: 0, medianMs: undefined, maxMs: undefined };

function faultSection(report: DrillReport): string[] {
  return [
    "## Faults",
    "",
    ...table(
      ["fault", "at", "worker", "partitions", "owned again", "resumed", "duplicates", "steal duplicates"],
      report.faults.map((f) =>
        faultRow(
          report,
          f,
          report.failovers.find((x) => x.faultIndex === f.index),
        ),
      ),
    ),
    "",
    "Failover per kind (median / max):",
    "",
    ...table(
      ["kind", "faults", "owned again", "processing resumed"],
      Object.entries(report.failoverByKind).map(([kind, k]) => [
        kind,
        String(k?.faults ?? 0),
        spreadText(k?.ownedAgain ?? NO_SPREAD),
        spreadText(k?.resumed ?? NO_SPREAD),
      ]),
    ),
  ];
}

/** One row per cause label: how many hand-overs, their duplicates, and the bound of each. */
function causeRows(report: DrillReport): string[][] {
  const rows = new Map<string, { count: number; duplicates: number; bound: number }>();
  for (const h of report.verdict.duplicates.handovers) {
    const label = causeLabel(h);
    const row = rows.get(label) ?? { count: 0, duplicates: 0, bound: h.bound };
    row.count += 1;
    row.duplicates += h.duplicates;
    rows.set(label, row);
  }
  return [...rows].map(([label, r]) => [label, String(r.count), String(r.duplicates), String(r.bound)]);
}

function duplicateSection(report: DrillReport): string[] {
  const { verdict } = report;
  const bound = verdict.duplicates.bound;
  return [
    "## Duplicates",
    "",
    `${verdict.duplicates.total} extra processings over ${verdict.distinctProcessed} distinct events ` +
      `(bound per hand-over after a crash or steal: 2 × ${bound.uncheckpointed} + ${bound.inFlightWindow} = ${bound.perHandover}; after SIGTERM or a cooperative hand-over: 0).`,
    "",
    ...table(["cause", "hand-overs", "duplicates", "bound each"], causeRows(report)),
    "",
    ...handoverLines(report)
      .slice(0, 40)
      .map((line) => `- ${line}`),
  ];
}

/** Renders the Markdown summary. */
export function renderMarkdown(report: DrillReport): string {
  const { verdict } = report;
  const failed = verdict.failures.map((f) => f.name).join(", ");
  const lines: string[] = [
    `# Drill ${verdict.passed ? "PASSED" : `FAILED: ${failed}`}`,
    "",
    ...scenarioLines(report),
    "",
    ...faultSection(report),
    "",
    "## Invariants",
    "",
    ...table(
      ["invariant", "result", "details"],
      verdict.invariants.map((i) => [
        i.name,
        i.passed ? "pass" : "**FAIL**",
        i.summary.replaceAll("|", "\\|"),
      ]),
    ),
    "",
    ...duplicateSection(report),
    "",
    "## Throughput",
    "",
    `${verdict.sent} events acknowledged, ${verdict.processed} ledger entries, ` +
      `${report.throughput.eventsPerSecond.toFixed(0)} events/s processed overall (first to last ledger entry).`,
    "",
  ];
  return lines.join("\n");
}

/** One line per hand-over with duplicates, for a closer look. */
export function handoverLines(report: DrillReport): string[] {
  return report.verdict.duplicates.handovers
    .filter((h) => h.duplicates > 0)
    .map(
      (h) =>
        `p${h.partitionId} ${causeLabel(h)} ${h.fromWorker ?? "?"}→${h.toWorker} at ${seconds(h.atMs - report.run.startedAtMs)}: ${h.duplicates} (bound ${h.bound})` +
        (h.overlapMs > 0 ? `; ${h.fromWorker} went on processing ${seconds(h.overlapMs)} after` : ""),
    );
}
