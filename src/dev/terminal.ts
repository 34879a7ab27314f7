/**
 * The terminal side of the live view: the alternate screen (so the shell's scrollback is left as
 * it was), a hidden cursor, raw-mode key input, and redraws that overwrite in place. Everything
 * it changes is restored by {@link LiveScreen.close}, also from a process `exit` hook.
 */
import { splitKeys } from "./keys.js";

/** The output side of a terminal: a TTY write stream. */
export interface ScreenOutput {
  write(text: string): boolean;
  readonly columns?: number;
  readonly rows?: number;
}

/** The input side of a terminal: a TTY read stream. */
export interface ScreenInput {
  setRawMode?(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: "data", listener: (chunk: string | Buffer) => void): unknown;
  off(event: "data", listener: (chunk: string | Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

const ESC = "\u001b[";
const ENTER_SCREEN = `${ESC}?1049h${ESC}?25l`;
const LEAVE_SCREEN = `${ESC}0m${ESC}?25h${ESC}?1049l`;

/** Terminal size used when the stream does not report one. */
const FALLBACK_SIZE = { columns: 120, rows: 40 };

/** A live view on a terminal: draws frames and delivers keys until closed. */
export class LiveScreen {
  private open = false;
  private readonly onData = (chunk: string | Buffer) => {
    for (const key of splitKeys(chunk.toString())) this.onKey(key);
  };
  private readonly restoreOnExit = () => this.close();

  constructor(
    private readonly output: ScreenOutput,
    private readonly input: ScreenInput | undefined,
    private readonly onKey: (key: string) => void,
  ) {}

  /** Width and height of the terminal now. */
  size(): { columns: number; rows: number } {
    return {
      columns: this.output.columns ?? FALLBACK_SIZE.columns,
      rows: this.output.rows ?? FALLBACK_SIZE.rows,
    };
  }

  /** Switches to the alternate screen and starts reading keys in raw mode. */
  start(): void {
    if (this.open) return;
    this.open = true;
    process.once("exit", this.restoreOnExit);
    this.output.write(ENTER_SCREEN);
    if (this.input !== undefined) {
      // Raw mode: keys arrive one by one, and Ctrl-C arrives as a key instead of a SIGINT.
      this.input.setRawMode?.(true);
      this.input.setEncoding("utf8");
      this.input.on("data", this.onData);
      this.input.resume();
    }
  }

  /** Draws a frame over the previous one: home, each line erased to its end, the rest cleared. */
  draw(lines: readonly string[]): void {
    if (!this.open) return;
    const body = lines.map((line) => `${line}${ESC}K`).join("\r\n");
    this.output.write(`${ESC}H${body}${ESC}J`);
  }

  /** Restores the terminal: cooked mode, input paused, cursor shown, the normal screen back. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    process.off("exit", this.restoreOnExit);
    if (this.input !== undefined) {
      this.input.off("data", this.onData);
      this.input.setRawMode?.(false);
      this.input.pause();
    }
    this.output.write(LEAVE_SCREEN);
  }
}
