/**
 * The `ehw` subcommands: name and one-line description. Each name is also its module,
 * `src/cli/<name>.ts`, which exports `main(argv: string[]): Promise<number>` returning the exit code.
 * Kept apart from the entry point so that tests and tools can read it without running the CLI.
 */
export const COMMANDS = {
  run: "run a worker: claim partitions, run handler pipelines, checkpoint",
  send: "send generated events to a hub (load generator)",
  hub: "run the local Event Hubs emulator",
  drill: "rehearse crash recovery on a local stack and judge delivery (seeded faults, report)",
  deadletter: "list or replay dead-lettered events (list | replay)",
  archive: "list Capture-format archive files, or replay a range of them into pipelines or a hub",
  dev: "local multi-worker stack: emulator, Azurite, producer, workers, live view",
  status: "show owners, checkpoints and lag per partition of a consumer group",
  checkpoints: "list checkpoints, or reset them to earliest, latest, a time or a sequence number",
} as const satisfies Record<string, string>;

/** A subcommand's name. */
export type CommandName = keyof typeof COMMANDS;

/** What every subcommand module exports. */
export interface CommandModule {
  main(argv: string[]): Promise<number>;
}

/** True when `name` is one of the subcommands. */
export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** Loads a subcommand's module (lazily: each pulls in its own dependencies). */
export async function loadCommand(name: CommandName): Promise<CommandModule> {
  return (await import(`./${name}.js`)) as CommandModule;
}
