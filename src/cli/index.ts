#!/usr/bin/env node
/**
 * `ehw` entry point: dispatches to one subcommand module. Each module exports
 * `main(argv: string[]): Promise<number>` and returns the process exit code.
 */
import { EhwError } from "../common/errors.js";
import { commandLineArgs } from "../config/process.js";
import { COMMANDS, isCommandName, loadCommand } from "./commands.js";

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, describe]) => `  ${name.padEnd(12)} ${describe}`);
  return `usage: ehw <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun 'ehw <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (!isCommandName(name)) {
    console.error(`ehw: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const module = await loadCommand(name);
  return module.main(rest);
}

main(commandLineArgs()).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof EhwError) {
      console.error(`ehw: ${err.message}`);
    } else {
      console.error("ehw: unexpected error:", err);
    }
    process.exitCode = 1;
  },
);
