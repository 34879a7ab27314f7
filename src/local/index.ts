/**
 * Starting and stopping the local dependencies as processes: Azurite (blob storage for
 * checkpoints) and the Event Hubs emulator. The dev stack and the drills build on this.
 */
import { join } from "node:path";
import { ProcessError } from "../common/errors.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import { type AzuriteProcess, startAzurite } from "./azurite.js";
import { type EmulatorProcess, startEmulatorProcess } from "./emulator-process.js";
import type { EmulatorHubSpec } from "./emulator-ready.js";

export {
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  type AzuriteProcess,
  azuriteConnectionString,
  resolveAzuriteBlobEntry,
  type StartAzuriteOptions,
  startAzurite,
} from "./azurite.js";
export {
  type ChildExit,
  ManagedChild,
  type ReadyCheck,
  type SpawnChildOptions,
  type StartChildOptions,
  type StopOptions,
  spawnChild,
  startChild,
} from "./child.js";
export { type CommandLine, ehwCommand, resolveEhwCommand } from "./cli-command.js";
export {
  createEmulatorHub,
  type EmulatorProcess,
  type StartEmulatorOptions,
  startEmulatorProcess,
} from "./emulator-process.js";
export {
  type EmulatorHubSpec,
  type EmulatorReadyInfo,
  emulatorArgs,
  hubFlagValue,
  parseReadyLine,
} from "./emulator-ready.js";
export { httpStatus } from "./http-probe.js";
export { formatCommandLine, type OutputLine, type OutputStream, OutputTail } from "./output.js";
export { assertPortFree, freePort, isPortFree, LOCAL_HOST } from "./ports.js";

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /**
   * Directory for persistent state: Azurite uses `<dataDir>/azurite`, the emulator
   * `<dataDir>/emulator`. Default: Azurite in a temporary directory removed on stop, the
   * emulator in memory.
   */
  dataDir?: string;
  /** Hubs the emulator creates at start; default none. */
  hubs?: EmulatorHubSpec[];
  /** Logger for both processes; default silent. */
  logger?: Logger;
}

/** Azurite and the emulator, running. */
export interface LocalStack {
  azurite: AzuriteProcess;
  emulator: EmulatorProcess;
  /** Stops both; tries the second even if the first fails, then throws the failure(s). */
  stop(): Promise<void>;
}

/** Stops every part, even if one stop fails; rejects with a {@link ProcessError} naming the failures. */
export async function stopAll(parts: Array<{ name: string; stop: () => Promise<void> }>): Promise<void> {
  const results = await Promise.allSettled(parts.map((part) => part.stop()));
  const failures = results.flatMap((result, i) =>
    result.status === "rejected" ? [{ name: parts[i]?.name ?? "?", reason: result.reason as unknown }] : [],
  );
  if (failures.length === 0) return;
  const names = failures.map((failure) => failure.name).join(", ");
  const cause =
    failures.length === 1 ? failures[0]?.reason : new AggregateError(failures.map((f) => f.reason));
  throw new ProcessError(`failed to stop: ${names}`, { cause });
}

/** Starts Azurite and the emulator (in parallel). If either fails, the other is stopped again. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const logger = options.logger ?? silentLogger();
  const dataDir = options.dataDir;
  const [azurite, emulator] = await Promise.allSettled([
    startAzurite({ logger, dataDir: dataDir === undefined ? undefined : join(dataDir, "azurite") }),
    startEmulatorProcess({
      logger,
      hubs: options.hubs,
      dataDir: dataDir === undefined ? undefined : join(dataDir, "emulator"),
    }),
  ]);
  if (azurite.status === "rejected" || emulator.status === "rejected") {
    const started = [
      ...(azurite.status === "fulfilled" ? [{ name: "azurite", stop: () => azurite.value.stop() }] : []),
      ...(emulator.status === "fulfilled" ? [{ name: "emulator", stop: () => emulator.value.stop() }] : []),
    ];
    await stopAll(started).catch((err: unknown) => logger.warn({ err }, "cleanup after a failed start"));
    throw azurite.status === "rejected" ? azurite.reason : (emulator as PromiseRejectedResult).reason;
  }
  const parts = [
    { name: "emulator", stop: () => emulator.value.stop() },
    { name: "azurite", stop: () => azurite.value.stop() },
  ];
  return { azurite: azurite.value, emulator: emulator.value, stop: () => stopAll(parts) };
}
