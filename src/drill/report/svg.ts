/**
 * The drill timeline as SVG: one row per partition (y), time on x, bars coloured by owner (from
 * the ownership samples), faults as labelled vertical lines, and a legend of owners. Pure: a
 * string from the report.
 */
import type { OwnershipSample } from "../types.js";
import { type DrillReport, faultName } from "./model.js";

/** One stretch of time in which a partition had one owner. */
export interface OwnershipInterval {
  readonly partitionId: string;
  readonly owner: string;
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * Turns samples into intervals: consecutive samples with the same non-empty owner form one
 * interval, which ends at the next sample that shows another owner (or none), or at `endMs`.
 */
export function ownershipIntervals(
  samples: readonly OwnershipSample[],
  partitionIds: readonly string[],
  endMs: number,
): OwnershipInterval[] {
  const sorted = [...samples].sort((a, b) => a.atMs - b.atMs);
  const intervals: OwnershipInterval[] = [];
  for (const partitionId of partitionIds) {
    let open: { owner: string; fromMs: number } | undefined;
    for (const sample of sorted) {
      const owner = sample.owners[partitionId] ?? "";
      if (open !== undefined && open.owner === owner) continue;
      if (open !== undefined) intervals.push({ partitionId, ...open, toMs: sample.atMs });
      open = owner === "" ? undefined : { owner, fromMs: sample.atMs };
    }
    if (open !== undefined) intervals.push({ partitionId, ...open, toMs: Math.max(endMs, open.fromMs) });
  }
  return intervals;
}

/** A palette that stays apart for the first dozen owners. */
const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#e15759",
  "#76b7b2",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
  "#1b9e77",
  "#7570b3",
];

const FAULT_COLOURS: Record<string, string> = {
  kill: "#d62728",
  term: "#2ca02c",
  add: "#1f77b4",
  "restart-storage": "#9467bd",
  "restart-hub": "#8c564b",
  detach: "#e377c2",
};

/** Escapes text for SVG content and attributes. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const LAYOUT = { left: 70, right: 20, top: 40, rowHeight: 22, barHeight: 14, width: 1100, axisGap: 40 };

interface Frame {
  readonly start: number;
  readonly end: number;
  readonly plotBottom: number;
  readonly x: (ms: number) => number;
  readonly colour: (owner: string) => string;
}

function partitionRows(report: DrillReport, frame: Frame): string[] {
  const out: string[] = [];
  const intervals = ownershipIntervals(report.ownerships, report.partitionIds, frame.end);
  report.partitionIds.forEach((partitionId, i) => {
    const y = LAYOUT.top + i * LAYOUT.rowHeight;
    out.push(`<g class="partition" data-partition="${esc(partitionId)}">`);
    out.push(
      `<text x="${LAYOUT.left - 8}" y="${y + LAYOUT.barHeight - 3}" text-anchor="end">p${esc(partitionId)}</text>`,
    );
    for (const iv of intervals.filter((v) => v.partitionId === partitionId)) {
      const x0 = frame.x(iv.fromMs);
      const w = Math.max(1, frame.x(iv.toMs) - x0);
      out.push(
        `<rect class="owner" data-owner="${esc(iv.owner)}" x="${x0.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${LAYOUT.barHeight}" fill="${frame.colour(iv.owner)}"><title>${esc(`p${partitionId}: ${iv.owner}`)}</title></rect>`,
      );
    }
    out.push("</g>");
  });
  return out;
}

function faultMarkers(report: DrillReport, frame: Frame): string[] {
  return report.faults.map((fault, i) => {
    const fx = frame.x(fault.atMs).toFixed(1);
    const label = fault.victim === undefined ? faultName(fault) : `${faultName(fault)} ${fault.victim}`;
    const c = FAULT_COLOURS[fault.kind] ?? "#000";
    // Labels alternate between two heights so that close faults stay readable.
    const ly = LAYOUT.top - 6 - (i % 2) * 11;
    return `<g class="fault" data-kind="${fault.kind}" data-index="${fault.index}"><line x1="${fx}" y1="${ly + 2}" x2="${fx}" y2="${frame.plotBottom}" stroke="${c}" stroke-width="1.5" stroke-dasharray="4 2"/><text x="${fx}" y="${ly}" fill="${c}" text-anchor="middle">${esc(label)}</text></g>`;
  });
}

function phaseMarkers(report: DrillReport, frame: Frame): string[] {
  const phases = report.run.phases;
  if (phases === undefined) return [];
  const marks: Array<[string, number]> = [
    ["sending", phases.sendStartedAtMs],
    ["sent", phases.sendEndedAtMs],
    ["stopping", phases.stoppingAtMs],
  ];
  return marks.map(([label, atMs]) => {
    const px = frame.x(atMs).toFixed(1);
    return `<g class="phase" data-phase="${label}"><line x1="${px}" y1="${LAYOUT.top}" x2="${px}" y2="${frame.plotBottom}" stroke="#999" stroke-dasharray="1 3"/><text x="${px}" y="${frame.plotBottom + 28}" fill="#777" text-anchor="middle">${label}</text></g>`;
  });
}

function legend(owners: readonly string[], top: number, colour: (owner: string) => string): string[] {
  return owners.map((owner, i) => {
    const lx = LAYOUT.left + (i % 6) * 160;
    const ly = top + Math.floor(i / 6) * 20;
    return `<g class="legend"><rect x="${lx}" y="${ly}" width="12" height="12" fill="${colour(owner)}"/><text x="${lx + 16}" y="${ly + 10}">${esc(owner)}</text></g>`;
  });
}

/** Renders the timeline; see the module comment. */
export function renderTimelineSvg(report: DrillReport): string {
  const start = report.run.startedAtMs;
  const end = Math.max(report.run.endedAtMs, start + 1);
  const plotWidth = LAYOUT.width - LAYOUT.left - LAYOUT.right;
  const owners = [
    ...new Set([...report.workers, ...report.ownerships.flatMap((s) => Object.values(s.owners))]),
  ].filter((o) => o !== "");
  const frame: Frame = {
    start,
    end,
    plotBottom: LAYOUT.top + report.partitionIds.length * LAYOUT.rowHeight,
    x: (ms) => LAYOUT.left + ((ms - start) / (end - start)) * plotWidth,
    colour: (owner) => PALETTE[owners.indexOf(owner) % PALETTE.length] ?? "#888",
  };
  const legendTop = frame.plotBottom + LAYOUT.axisGap + 10;
  const height = legendTop + 20 * Math.ceil(owners.length / 6) + 20;
  const title = `Partition ownership, seed ${report.scenario.seed}: ${report.verdict.passed ? "PASSED" : "FAILED"}`;
  return `${[
    `<svg xmlns="http://www.w3.org/2000/svg" width="${LAYOUT.width}" height="${height}" viewBox="0 0 ${LAYOUT.width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LAYOUT.left}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
    ...partitionRows(report, frame),
    ...axis(start, end, frame.x, frame.plotBottom),
    ...phaseMarkers(report, frame),
    ...faultMarkers(report, frame),
    ...legend(owners, legendTop, frame.colour),
    "</svg>",
  ].join("\n")}\n`;
}

function axis(start: number, end: number, x: (ms: number) => number, bottom: number): string[] {
  const seconds = (end - start) / 1000;
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300].find((s) => seconds / s <= 12) ?? 600;
  const out = [`<line x1="${x(start)}" y1="${bottom + 2}" x2="${x(end)}" y2="${bottom + 2}" stroke="#333"/>`];
  for (let s = 0; s <= seconds; s += step) {
    const tx = x(start + s * 1000).toFixed(1);
    out.push(`<line x1="${tx}" y1="${bottom + 2}" x2="${tx}" y2="${bottom + 6}" stroke="#333"/>`);
    out.push(`<text x="${tx}" y="${bottom + 18}" text-anchor="middle">${s}s</text>`);
  }
  return out;
}
