/**
 * What `ehw archive` and `ehw deadletter` share: both take `list | replay` as their first word,
 * print help the same way, turn a ConfigError into exit 2 and any other failure of ours into exit 1
 * with the command's name, and print tables in aligned columns.
 */

import { ConfigError, EhwError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";

/** The two actions of both commands. */
export type ListOrReplay = "list" | "replay";

/** Exit code of a usage error, as every `ehw` command. */
export const EXIT_USAGE = 2;

/** Exit code of a list or replay that failed (storage unreachable, a replay not sent, …). */
export const EXIT_FAILED = 1;

/** What the command's own reader returns for the words after the action. */
export type ActionRead<T> = { readonly help: true } | { readonly help: false; readonly options: T };

/**
 * Reads `<action> [words…]` for the command `name`: the options, or an exit code once help or a
 * usage error has been printed (help on stdout, errors on stderr).
 */
export function readListOrReplay<T>(
  name: string,
  usage: string,
  argv: readonly string[],
  read: (action: ListOrReplay, rest: string[]) => ActionRead<T>,
): T | number {
  const [action, ...rest] = argv;
  if (action === undefined || action === "--help" || action === "-h" || action === "help") {
    console.log(usage);
    return action === undefined ? EXIT_USAGE : 0;
  }
  if (action !== "list" && action !== "replay") {
    console.error(`ehw ${name}: unknown action '${action}' (list | replay)\n\n${usage}`);
    return EXIT_USAGE;
  }
  try {
    const result = read(action, rest);
    if (!result.help) return result.options;
    console.log(usage);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`ehw ${name}: ${redactSecrets(err.message)}`);
    return EXIT_USAGE;
  }
}

/**
 * Runs the action of the command `name` to its exit code: an error of ours is printed with the
 * command's name (secrets redacted) and becomes exit 2 for a ConfigError, else 1; anything else is
 * a bug and is thrown.
 */
export async function runAction(name: string, action: () => Promise<number>): Promise<number> {
  try {
    return await action();
  } catch (err) {
    if (!(err instanceof EhwError)) throw err;
    console.error(`ehw ${name}: ${redactSecrets(err.message)}`);
    return err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED;
  }
}

/** Prints rows in columns two spaces apart, the first row's cells setting how many columns. */
export function printColumns(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const row of rows) {
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    );
  }
}
