/**
 * The workers' claim lines, read back from their logs after a drill: which partition each worker
 * claimed when, and how (`via`), so that the verdict tells a cooperative hand-over from a steal.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClaimRecord } from "./types.js";

/** The "partition claimed" lines of one worker's log (JSON lines; others are skipped). Pure. */
export function parseClaimLines(workerId: string, text: string): ClaimRecord[] {
  const claims: ClaimRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{") || !line.includes('"partition claimed"')) continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const atMs = typeof parsed.time === "number" ? parsed.time : Date.parse(String(parsed.time));
    const partitionId = parsed.partitionId;
    if (parsed.msg !== "partition claimed" || typeof partitionId !== "string" || Number.isNaN(atMs)) continue;
    claims.push({
      workerId,
      partitionId,
      atMs,
      via: typeof parsed.via === "string" ? parsed.via : "unknown",
    });
  }
  return claims;
}

/** The claim lines of every worker's `<logDir>/<id>.log`; a missing log has none. */
export async function readClaims(logDir: string, workerIds: readonly string[]): Promise<ClaimRecord[]> {
  const all: ClaimRecord[] = [];
  for (const id of workerIds) {
    const text = await readFile(join(logDir, `${id}.log`), "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return "";
      throw err;
    });
    all.push(...parseClaimLines(id, text));
  }
  return all;
}
