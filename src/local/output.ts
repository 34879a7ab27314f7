/**
 * Pure helpers for a child process's output and command line: splitting chunks into lines,
 * keeping a bounded tail for error messages, and printing a command line without its secrets.
 */
import { redactSecrets } from "../observability/logger.js";

/** Which stream of a child process a line came from. */
export type OutputStream = "stdout" | "stderr";

/** One line of a child process's output, without its line terminator. */
export interface OutputLine {
  stream: OutputStream;
  text: string;
}

/** Longest partial line kept while waiting for its newline (characters); longer ones are cut. */
const MAX_PARTIAL_CHARS = 1 << 20;

/** Splits a stream of text chunks into lines; accepts `\n` and `\r\n` terminators. */
export class LineSplitter {
  private partial = "";

  /** Adds a chunk and returns the lines it completed. */
  push(chunk: string): string[] {
    const text = this.partial + chunk;
    const parts = text.split("\n");
    this.partial = parts.pop() ?? "";
    // A process that never writes a newline must not grow our memory without bound.
    if (this.partial.length > MAX_PARTIAL_CHARS) {
      parts.push(this.partial);
      this.partial = "";
    }
    return parts.map(stripCarriageReturn);
  }

  /** Returns the unterminated last line, if any, and forgets it. Call when the stream ends. */
  flush(): string | undefined {
    const rest = this.partial;
    this.partial = "";
    return rest.length > 0 ? stripCarriageReturn(rest) : undefined;
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** Options of {@link OutputTail}. */
export interface OutputTailOptions {
  /** Lines kept; older ones are dropped. Default 200. */
  maxLines?: number;
  /** Characters kept of one line; the rest is replaced by an ellipsis. Default 2000. */
  maxLineChars?: number;
}

/** The last lines of a child process's output, bounded in count and line length. */
export class OutputTail {
  private readonly maxLines: number;
  private readonly maxLineChars: number;
  private readonly buffer: OutputLine[] = [];

  constructor(options: OutputTailOptions = {}) {
    this.maxLines = Math.max(1, options.maxLines ?? 200);
    this.maxLineChars = Math.max(1, options.maxLineChars ?? 2000);
  }

  push(line: OutputLine): void {
    const text =
      line.text.length > this.maxLineChars ? `${line.text.slice(0, this.maxLineChars)}…` : line.text;
    this.buffer.push({ stream: line.stream, text });
    if (this.buffer.length > this.maxLines) this.buffer.shift();
  }

  /** The kept lines, oldest first; at most the last `count` when given. */
  lines(count?: number): OutputLine[] {
    if (count === undefined) return [...this.buffer];
    return count <= 0 ? [] : this.buffer.slice(-count);
  }

  /** The last `count` lines (default 20) as text for an error message, secrets redacted. */
  format(count = 20): string {
    return this.lines(count)
      .map((line) => `  [${line.stream}] ${redactSecrets(line.text)}`)
      .join("\n");
  }
}

/** Flags whose following argument is a secret in every command we start. */
export const DEFAULT_SECRET_FLAGS: readonly string[] = [
  "--key",
  "--connection-string",
  "--storage-connection-string",
];

/**
 * Formats a command line for messages and logs: the values after `secretFlags` (also in
 * `--flag=value` form) become `[redacted]`, connection-string secrets are removed, and arguments
 * with spaces are quoted.
 */
export function formatCommandLine(
  command: string,
  args: readonly string[],
  secretFlags: readonly string[] = DEFAULT_SECRET_FLAGS,
): string {
  const shown: string[] = [];
  let hideNext = false;
  for (const arg of args) {
    if (hideNext) {
      shown.push("[redacted]");
      hideNext = false;
      continue;
    }
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0 && secretFlags.includes(arg.slice(0, eq))) {
      shown.push(`${arg.slice(0, eq)}=[redacted]`);
      continue;
    }
    if (secretFlags.includes(arg)) hideNext = true;
    shown.push(redactSecrets(arg));
  }
  return [command, ...shown].map(quoteIfNeeded).join(" ");
}

function quoteIfNeeded(arg: string): string {
  return /[\s"']/.test(arg) ? JSON.stringify(arg) : arg;
}
