#!/usr/bin/env node
/**
 * `ehw` entry point: dispatches to one subcommand module. Each module exports
 * `main(argv: string[]): Promise<number>` and returns the process exit code.
 */
import { EhwError } from "../errors.js";

type Command = { describe: string; load: () => Promise<{ main: (argv: string[]) => Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  run: {
    describe: "run a worker: claim partitions, run handler pipelines, checkpoint",
    load: () => import("./run.js"),
  },
  send: { describe: "send generated events to a hub (load generator)", load: () => import("./send.js") },
  hub: { describe: "run the local Event Hubs emulator", load: () => import("./hub.js") },
  drill: {
    describe: "rehearse crash recovery on a local stack and judge delivery (seeded faults, report)",
    load: () => import("./drill.js"),
  },
  deadletter: {
    describe: "list or replay dead-lettered events (list | replay)",
    load: () => import("./deadletter.js"),
  },
  dev: {
    describe: "local multi-worker stack: emulator, Azurite, producer, workers, live view",
    load: () => import("./dev.js"),
  },
  status: {
    describe: "show owners, checkpoints and lag per partition of a consumer group",
    load: () => import("./status.js"),
  },
  checkpoints: {
    describe: "list checkpoints, or reset them to earliest, latest, a time or a sequence number",
    load: () => import("./checkpoints.js"),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.describe}`);
  return `usage: ehw <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun 'ehw <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`ehw: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.main(rest);
}

main(process.argv.slice(2)).then(
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
