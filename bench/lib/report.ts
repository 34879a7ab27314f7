/**
 * Output of the benchmarks: a table for people, then one JSON line of figures for scripts
 * (`bench/run.ts` collects the last such line of every benchmark).
 */

/** A table cell. */
export type Cell = string | number | undefined;

function format(cell: Cell): string {
  if (cell === undefined) return "-";
  if (typeof cell === "number") {
    if (!Number.isFinite(cell)) return String(cell);
    if (Number.isInteger(cell)) return cell.toLocaleString("en-US");
    return cell.toLocaleString("en-US", { maximumFractionDigits: 2 });
  }
  return cell;
}

/** Prints rows as an aligned table with a header of the first row's keys. */
export function printTable(rows: ReadonlyArray<Record<string, Cell>>): void {
  const first = rows[0];
  if (first === undefined) return;
  const columns = Object.keys(first);
  const text = rows.map((row) => columns.map((c) => format(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ");
  console.log(line(columns));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of text) console.log(line(row));
}

/** Rounds to `digits` decimals, for JSON figures. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Prints the benchmark's figures as one JSON line: `{"bench":"<name>",...}`. */
export function printFigures(bench: string, figures: Record<string, unknown>): void {
  console.log(JSON.stringify({ bench, ...figures }));
}

/** A line on stderr, for progress that is not part of the results. */
export function note(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
