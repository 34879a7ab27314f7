/**
 * The `ehw` command lines that the deployment files and the container docs run, and the CLI's
 * own command map, so that a renamed command or flag breaks a test instead of a deployment.
 */
import { COMMANDS } from "../../../src/cli/commands.js";

/** One `ehw` invocation found in a file: the subcommand and its arguments. */
export interface Invocation {
  /** Where it was found, for messages. */
  readonly where: string;
  readonly command: string;
  readonly args: readonly string[];
}

/** The subcommands of the CLI and the module each loads (`src/cli/<name>.ts`). */
export function cliCommandModules(): Map<string, string> {
  return new Map(Object.keys(COMMANDS).map((name) => [name, name]));
}

/** Shell lines of a text with `\` continuations joined; in Markdown, only fenced sh/bash/shell blocks. */
export function shellLines(text: string, markdown: boolean): string[] {
  const lines: string[] = [];
  let inFence = false;
  let shellFence = !markdown;
  let pending = "";
  for (const raw of text.split("\n")) {
    if (markdown && /^```/.test(raw.trim())) {
      inFence = !inFence;
      shellFence = inFence && /^```(sh|bash|shell|console)?\s*$/.test(raw.trim());
      continue;
    }
    if (!shellFence) continue;
    const line = raw.trim();
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push(pending + line);
    pending = "";
  }
  return lines;
}

/** Arguments up to the first shell operator or comment, quotes removed. */
function argumentsOf(rest: string): string[] {
  const cut = rest.split(/\s*(?:\||&&|;|\s#|>|2>)/)[0] ?? "";
  return cut
    .split(/\s+/)
    .filter((token) => token !== "" && !/^[)}]$/.test(token))
    .map((token) => token.replace(/^['"]|['"]$/g, ""));
}

/**
 * `ehw` invocations in shell lines: `docker compose run … worker|producer <command> …` (also
 * through a `compose` shell function) and `docker run … eventhub-worker[:tag] <command> …`.
 * Lines without a subcommand (the image's default `run`) are skipped, as are `$`-expanded ones.
 */
export function invocationsIn(lines: readonly string[], where: string): Invocation[] {
  const out: Invocation[] = [];
  for (const line of lines) {
    if (line.startsWith("#")) continue;
    const compose = /\bcompose run\b.*?\s(?:worker|producer)\s+(.*)$/.exec(line);
    const run = /\bdocker run\b.*?\seventhub-worker(?::[\w.-]+)?\s+(.*)$/.exec(line);
    const rest = compose?.[1] ?? run?.[1];
    if (rest === undefined) continue;
    const [command, ...args] = argumentsOf(rest);
    if (command === undefined || command.startsWith("-") || command.includes("$")) continue;
    out.push({ where: `${where}: ${line}`, command, args: args.filter((a) => !a.includes("$")) });
  }
  return out;
}
