/**
 * Counts the lines a worker's ledger file grew by, reading only what was appended since the last
 * call, so that a long session costs the same per sample as a short one, and hands each complete
 * line to a listener (which records the partition and sequence number it names).
 */
import { type FileHandle, open, stat } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { LineSplitter } from "../local/output.js";

/** Bytes read per call at most; a backlog is caught up over several samples. */
const MAX_READ_BYTES = 4 * 1024 * 1024;

/** Counts newline-terminated lines appended to a file after the counter was created. */
export class LedgerCounter {
  private offset: number;
  private lines = 0;
  private handle: FileHandle | undefined;
  private readonly buffer = Buffer.alloc(64 * 1024);
  private readonly decoder = new StringDecoder("utf8");
  private readonly splitter = new LineSplitter();

  private constructor(
    private readonly path: string,
    startOffset: number,
    private readonly onLine: ((line: string) => void) | undefined,
  ) {
    this.offset = startOffset;
  }

  /**
   * A counter that ignores what the file already holds (a ledger of an earlier session in the
   * same data directory); a missing file counts from its first line.
   */
  static async fromEnd(path: string, onLine?: (line: string) => void): Promise<LedgerCounter> {
    const size = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    return new LedgerCounter(path, size, onLine);
  }

  /** Lines appended since creation. */
  get count(): number {
    return this.lines;
  }

  /** Reads what was appended since the last call and returns the new total. */
  async update(): Promise<number> {
    if (this.handle === undefined) {
      try {
        this.handle = await open(this.path, "r");
      } catch (err) {
        // The worker creates the file with its first event.
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return this.lines;
        throw err;
      }
    }
    let budget = MAX_READ_BYTES;
    while (budget > 0) {
      const { bytesRead } = await this.handle.read(
        this.buffer,
        0,
        Math.min(this.buffer.length, budget),
        this.offset,
      );
      if (bytesRead === 0) break;
      const lines = this.splitter.push(this.decoder.write(this.buffer.subarray(0, bytesRead)));
      this.lines += lines.length;
      if (this.onLine !== undefined) for (const line of lines) this.onLine(line);
      this.offset += bytesRead;
      budget -= bytesRead;
    }
    return this.lines;
  }

  /** Closes the file. */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
