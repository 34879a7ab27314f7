/**
 * Where a JSON text stops parsing, as line and column, for config files: "is not valid JSON"
 * alone sends the reader hunting through the whole file.
 */

/** Line and column (both from 1) of a JSON.parse failure, and the parser's reason when safe to show. */
export interface JsonErrorLocation {
  readonly line: number;
  readonly column: number;
  /** The parser's words ("Expected ',' or '}' after property value"), without any quoted text. */
  readonly reason: string | undefined;
}

/**
 * The location of `err`, thrown by `JSON.parse(text)`; undefined when the parser gave none. V8
 * reports a character position; some of its messages quote the text instead (which may hold a
 * key), and those give no position and no reason here.
 */
export function jsonErrorLocation(text: string, err: unknown): JsonErrorLocation | undefined {
  const message = err instanceof Error ? err.message : "";
  const match = /^(.*?) in JSON at position (\d+)/.exec(message);
  if (match === null) return undefined;
  const position = Math.min(Number(match[2]), text.length);
  const before = text.slice(0, position);
  const line = before.split("\n").length;
  const column = position - (before.lastIndexOf("\n") + 1) + 1;
  const reason = match[1]?.includes('"') === false ? match[1] : undefined;
  return { line, column, reason };
}
