/**
 * Text layout of the dev view, without I/O: the live terminal view (ANSI colours, clipped to the
 * terminal) and the plain periodic summary for logs and pipes. Unknown values print as "-".
 */
import { tracesLine, tracesLines } from "./render-traces.js";
import type { DevTotals, DevView, PartitionRow, WorkerRow } from "./view-model.js";

/** What the header of the live view shows besides the samples. */
export interface DevInfo {
  /** Data directory (ledgers, logs, Azurite and emulator state). */
  dataDir: string;
  /** Event Hubs namespace connection string. */
  eventHubConnectionString: string;
  /** Event hub name. */
  hub: string;
  /** Storage connection string. */
  storageConnectionString: string;
  /** Checkpoint container. */
  containerName: string;
  /** Producer rate, events per second; 0 = none. */
  ratePerSecond: number;
  /** With `--tracing`: where the workers export, and whether that is the dev stack's receiver. */
  traces?: { destination: string; local: boolean } | undefined;
}

/** Terminal size and the transient lines under the view. */
export interface LiveLayout {
  /** Terminal width in characters. */
  columns: number;
  /** Terminal height in lines. */
  rows: number;
  /** Whether to use ANSI colours. */
  color: boolean;
  /** A prompt or the outcome of the last key, shown under the help line. */
  message: string | undefined;
}

/** The help line of the live view. */
export const KEY_HELP = "keys: a add worker · s stop worker (SIGTERM) · k kill worker (SIGKILL) · q quit";

const ESC = "\u001b[";
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

type Style = "bold" | "dim" | "green" | "yellow" | "red" | "cyan";
const STYLE_CODES: Record<Style, string> = {
  bold: "1",
  dim: "2",
  green: "32",
  yellow: "33",
  red: "31",
  cyan: "36",
};

function paint(text: string, style: Style | undefined, color: boolean): string {
  return color && style !== undefined ? `${ESC}${STYLE_CODES[style]}m${text}${ESC}0m` : text;
}

/** Length of `text` as shown, without ANSI escape sequences. */
export function visibleLength(text: string): number {
  return text.replace(ANSI, "").length;
}

/** Cuts `text` to `columns` visible characters, keeping escape sequences (and resetting style). */
export function clipLine(text: string, columns: number): string {
  if (visibleLength(text) <= columns) return text;
  let out = "";
  let shown = 0;
  for (let i = 0; i < text.length && shown < columns; ) {
    ANSI.lastIndex = i;
    const match = text.charCodeAt(i) === 0x1b ? ANSI.exec(text) : null;
    if (match !== null && match.index === i) {
      out += match[0];
      i += match[0].length;
      continue;
    }
    out += text[i];
    shown++;
    i++;
  }
  ANSI.lastIndex = 0;
  return text.includes("\u001b") ? `${out}${ESC}0m` : out;
}

/** "-" for an unknown number; rates under 100 with one decimal. */
export function formatNumber(value: number | undefined, decimals = 0): string {
  if (value === undefined || !Number.isFinite(value)) return "-";
  if (decimals > 0 && Math.abs(value) < 100) return value.toFixed(decimals);
  return String(Math.round(value));
}

/** `mm:ss`, or `h:mm:ss` from an hour on. */
export function formatUptime(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/** Sorted numeric ids as ranges ("0-3,6,8-9"); other ids joined as given. "-" when none. */
export function compactIds(ids: readonly string[]): string {
  if (ids.length === 0) return "-";
  if (!ids.every((id) => /^\d+$/.test(id))) return ids.join(",");
  const nums = ids.map(Number).sort((a, b) => a - b);
  const parts: string[] = [];
  let start = nums[0] as number;
  let prev = start;
  for (const n of [...nums.slice(1), Number.NaN]) {
    if (n === prev + 1) {
      prev = n;
      continue;
    }
    parts.push(start === prev ? String(start) : `${start}-${prev}`);
    start = n;
    prev = n;
  }
  return parts.join(",");
}

function stateStyle(row: WorkerRow): Style | undefined {
  switch (row.state) {
    case "running":
      return "green";
    case "starting":
    case "stopping":
      return "yellow";
    case "exited":
      return row.stateLabel === "exited 0" ? "dim" : "red";
  }
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text.padEnd(width);
}

function workerLines(workers: WorkerRow[], color: boolean): string[] {
  const head = `  ${pad("worker", 11)}${pad("pid", 9)}${pad("state", 16)}${pad("partitions", 22)}${pad("events/s", 10)}${pad("in-flight", 11)}processed`;
  const lines = [paint(head, "bold", color)];
  if (workers.length === 0) lines.push("  (no workers: press a to add one)");
  for (const w of workers) {
    const state = paint(pad(w.stateLabel, 16), stateStyle(w), color);
    const line = `  ${pad(w.ownerId, 11)}${pad(String(w.pid), 9)}${state}${pad(compactIds(w.partitions), 22)}${pad(formatNumber(w.eventsPerSecond, 1), 10)}${pad(formatNumber(w.inFlight), 11)}${formatNumber(w.processed)}`;
    lines.push(line);
    if (w.note !== undefined) lines.push(paint(`      ${w.note}`, "red", color));
  }
  return lines;
}

/** An age in seconds, one decimal below a minute; "-" when unknown. */
export function formatAge(seconds: number | undefined): string {
  if (seconds === undefined) return "-";
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds)} s`;
}

/** How the owner of a partition is shown: its id, marked when its process exited or it expired. */
export function ownerLabel(row: PartitionRow): string {
  if (row.owner === undefined) return "-";
  if (row.expired) return `${row.owner} (expired)`;
  return row.ownerExited ? `${row.owner} (exited)` : row.owner;
}

function partitionRowLine(p: PartitionRow, color: boolean): string {
  const owner = paint(pad(ownerLabel(p), 22), ownerStyle(p), color);
  return `  ${pad(p.partitionId, 11)}${owner}${pad(formatNumber(p.checkpoint), 12)}${pad(formatNumber(p.lastEnqueued), 15)}${pad(formatNumber(p.lag), 10)}${formatAge(p.ageSeconds)}`;
}

function ownerStyle(p: PartitionRow): Style | undefined {
  return p.owner === undefined || p.expired || p.ownerExited ? "yellow" : undefined;
}

/** Width of one cell of the compact partition list. */
const COMPACT_CELL = 34;

/** Partitions as cells side by side ("3 worker-2  lag 40"), for terminals too short for the table. */
function compactPartitionLines(
  rows: PartitionRow[],
  budget: number,
  columns: number,
  color: boolean,
): string[] {
  const perLine = Math.max(1, Math.floor((columns - 2) / COMPACT_CELL));
  const lines = [paint("  partition owner, lag (the terminal is too short for the table)", "bold", color)];
  const capacity = Math.max(0, budget) * perLine;
  const shown = rows.length > capacity ? rows.slice(0, Math.max(0, capacity - perLine)) : rows;
  for (let i = 0; i < shown.length; i += perLine) {
    const cells = shown.slice(i, i + perLine).map((p) => {
      const text = pad(`${pad(p.partitionId, 4)}${ownerLabel(p)}`, 24);
      return pad(`${paint(text, ownerStyle(p), color)}lag ${formatNumber(p.lag)}`, COMPACT_CELL);
    });
    lines.push(`  ${cells.join("").trimEnd()}`);
  }
  if (shown.length < rows.length) lines.push(`  … ${rows.length - shown.length} more partitions`);
  return lines;
}

function partitionLines(
  rows: PartitionRow[] | undefined,
  budget: number,
  columns: number,
  color: boolean,
): string[] {
  const head = `  ${pad("partition", 11)}${pad("owner", 22)}${pad("checkpoint", 12)}${pad("last enqueued", 15)}${pad("lag", 10)}oldest age`;
  if (rows === undefined) return [paint(head, "bold", color), "  (not known yet)"];
  if (rows.length > budget) return compactPartitionLines(rows, budget, columns, color);
  return [paint(head, "bold", color), ...rows.map((p) => partitionRowLine(p, color))];
}

/** ` (crash 10, steal 2)` for the causes with redeliveries; empty when there are none. */
function causesText(byCause: Readonly<Record<string, number>> | undefined): string {
  const parts = Object.entries(byCause ?? {})
    .filter(([, n]) => n > 0)
    .map(([cause, n]) => `${cause} ${n}`);
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

/** The totals as one line, shared by the live view and the plain summary. */
export function totalsLine(t: DevTotals): string {
  const owned = t.ownedPartitions === undefined ? "-" : String(t.ownedPartitions);
  return [
    `sent ${formatNumber(t.sent)} (${formatNumber(t.sentPerSecond, 1)}/s)`,
    `processed ${formatNumber(t.processed)} (${formatNumber(t.processedPerSecond, 1)}/s)`,
    ...(t.redelivered === undefined
      ? []
      : [`redelivered ${t.redelivered}${causesText(t.redeliveredByCause)}`]),
    `lag ${formatNumber(t.lag)}`,
    `partitions owned ${owned}/${t.partitionCount}`,
    `workers ${t.activeWorkers} active`,
  ].join(" · ");
}

function headerLines(view: DevView, info: DevInfo, color: boolean): string[] {
  const rate = info.ratePerSecond > 0 ? `producer ${info.ratePerSecond} events/s` : "no producer";
  return [
    paint(`ehw dev · hub ${info.hub} · ${rate} · up ${formatUptime(view.uptimeMs)}`, "bold", color),
    `data       ${info.dataDir}`,
    `eventhub   ${info.eventHubConnectionString}   hub ${info.hub}`,
    `storage    ${info.storageConnectionString}   container ${info.containerName}`,
  ];
}

/** Terminal lines a line takes when the terminal wraps it. */
function wrappedRows(line: string, columns: number): number {
  return Math.max(1, Math.ceil(visibleLength(line) / Math.max(1, columns)));
}

/**
 * The live view as lines (no cursor control). Connection strings wrap rather than being cut, so
 * that they can be copied; every other line is clipped to the width, and partition rows give way
 * when the terminal is too short.
 */
export function renderLiveView(view: DevView, info: DevInfo, layout: LiveLayout): string[] {
  const { color, columns } = layout;
  const header = headerLines(view, info, color);
  const workers = workerLines(view.workers, color).map((l) => clipLine(l, columns));
  const totals = paint(`totals     ${totalsLine(view.totals)}`, "cyan", color);
  const traces = (view.traces === undefined ? [] : tracesLines(view.traces)).map((l, i) =>
    paint(l, i === 0 ? "cyan" : undefined, color),
  );
  const notes = view.notes.map((n) => paint(n, "red", color));
  const footer = [paint(KEY_HELP, "dim", color), layout.message ?? ""].map((l) => clipLine(l, columns));
  const fixed = [...header, "", ...workers, "", "", totals, ...traces, ...notes, "", ...footer];
  const used = fixed.reduce((sum, line) => sum + wrappedRows(line, columns), 0);
  // One line stays free so that the terminal never scrolls the view.
  const budget = Math.max(1, layout.rows - used - 2);
  const partitions = partitionLines(view.partitions, budget, columns, color).map((l) => clipLine(l, columns));
  return [
    ...header,
    "",
    ...workers,
    "",
    ...partitions,
    "",
    clipLine(totals, columns),
    ...traces.map((l) => clipLine(l, columns)),
    ...notes.map((l) => clipLine(l, columns)),
    "",
    ...footer,
  ];
}

function plainWorker(w: WorkerRow): string {
  const line = `  ${pad(w.ownerId, 10)} pid ${pad(String(w.pid), 8)}${pad(w.stateLabel, 15)}partitions ${pad(compactIds(w.partitions), 12)}events/s ${pad(formatNumber(w.eventsPerSecond, 1), 8)}in-flight ${pad(formatNumber(w.inFlight), 6)}processed ${formatNumber(w.processed)}`;
  return w.note === undefined ? line : `${line}\n    ${w.note}`;
}

/** The plain summary: a totals line with the uptime, one line per worker, one for partitions. */
export function renderSummary(view: DevView): string[] {
  const lines = [`[${formatUptime(view.uptimeMs)}] ${totalsLine(view.totals)}`];
  for (const w of view.workers) lines.push(...plainWorker(w).split("\n"));
  if (view.partitions !== undefined) {
    const parts = view.partitions.map((p) => `${p.partitionId}:${ownerLabel(p)} lag ${formatNumber(p.lag)}`);
    lines.push(`  partitions ${parts.join(" | ")}`);
  }
  if (view.traces !== undefined) lines.push(`  traces ${tracesLine(view.traces)}`);
  for (const note of view.notes) lines.push(`  ${note}`);
  return lines;
}
