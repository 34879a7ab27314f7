/**
 * Pure decision: does the next batch go into the open file, or does a new file start? A file
 * takes events for `windowMs` after it was opened and until it holds `windowBytes`, like Capture's
 * time and size windows; a window in which no event arrives writes no file at all.
 */

/** Most committed blocks in one file; the service allows 50,000, and every commit lists them all. */
export const MAX_BLOCKS_PER_FILE = 10_000;

/** What the decision looks at of the open file. */
export interface OpenFileFacts {
  /** Wall-clock time the file was opened, epoch milliseconds. */
  readonly openedAtMs: number;
  /** Bytes committed so far, header included. */
  readonly bytes: number;
  /** Events committed so far. */
  readonly events: number;
  /** Committed blocks so far. */
  readonly blocks: number;
}

/** Window limits. */
export interface WindowLimits {
  readonly windowMs: number;
  readonly windowBytes: number;
  readonly maxBlocks?: number;
}

/** `extend`: append to the open file; otherwise why the next file starts. */
export type WindowDecision = "extend" | "new-file" | "time" | "size" | "blocks";

/**
 * The decision for a batch of `blockBytes` encoded bytes at `nowMs`. With no open file, a new one.
 * An empty open file is always extended, so a batch bigger than the window still lands somewhere.
 */
export function decideWindow(
  file: OpenFileFacts | undefined,
  blockBytes: number,
  nowMs: number,
  limits: WindowLimits,
): WindowDecision {
  if (file === undefined) return "new-file";
  if (nowMs - file.openedAtMs >= limits.windowMs) return "time";
  if (file.blocks >= (limits.maxBlocks ?? MAX_BLOCKS_PER_FILE)) return "blocks";
  if (file.events > 0 && file.bytes + blockBytes > limits.windowBytes) return "size";
  return "extend";
}
