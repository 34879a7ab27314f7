/** Writing a drill report: `report.json`, `report.md` and `timeline.svg` in one directory. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderMarkdown } from "./markdown.js";
import type { DrillReport } from "./model.js";
import { renderTimelineSvg } from "./svg.js";

export { handoverLines, renderMarkdown } from "./markdown.js";
export {
  buildReport,
  type DrillReport,
  type DrillRunFacts,
  type DrillScenario,
  faultName,
  type Throughput,
} from "./model.js";
export { type OwnershipInterval, ownershipIntervals, renderTimelineSvg } from "./svg.js";

/** The report as JSON: every figure, machine-readable. */
export function renderJson(report: DrillReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Paths of the written report files. */
export interface ReportFiles {
  readonly json: string;
  readonly markdown: string;
  readonly svg: string;
}

/** Writes the three report files into `dir` (created when missing). */
export async function writeReport(dir: string, report: DrillReport): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const files = {
    json: join(dir, "report.json"),
    markdown: join(dir, "report.md"),
    svg: join(dir, "timeline.svg"),
  };
  await writeFile(files.json, renderJson(report));
  await writeFile(files.markdown, renderMarkdown(report));
  await writeFile(files.svg, renderTimelineSvg(report));
  return files;
}
