/**
 * The dev stack's infrastructure: Azurite and the emulator started together in the data
 * directory (both stopped again if either fails), and the stack's own log file.
 */
import { join } from "node:path";
import { pino } from "pino";
import { type AzuriteProcess, startAzurite } from "../local/azurite.js";
import { type EmulatorProcess, startEmulatorProcess } from "../local/emulator-process.js";
import { stopAll } from "../local/index.js";
import type { Logger } from "../observability/logger.js";
import type { DevOptions } from "./options.js";

/**
 * The stack's own log file (Azurite's and the emulator's output, lifecycle events). The
 * destination is ended, not its descriptor closed: a writer left holding a closed descriptor that
 * the process reuses for a socket blocks the event loop in its busy-write retry.
 */
export function openStackLog(dataDir: string): { logger: Logger; close: () => Promise<void> } {
  const destination = pino.destination({
    dest: join(dataDir, "logs", "stack.log"),
    append: true,
    sync: false,
  });
  const logger = pino(
    { level: "debug", base: { component: "ehw-dev" }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  );
  return {
    logger,
    close: () =>
      new Promise((done) => {
        destination.once("close", () => done());
        destination.end();
      }),
  };
}

/** Azurite and the emulator, running. */
export interface Infra {
  azurite: AzuriteProcess;
  emulator: EmulatorProcess;
}

/**
 * Starts Azurite (`<data>/azurite`) and the emulator with the dev hub (`<data>/emulator`) in
 * parallel. If either fails, the other is stopped and the failure is rethrown.
 */
export async function startInfra(options: DevOptions, dataDir: string, logger: Logger): Promise<Infra> {
  const [azurite, emulator] = await Promise.allSettled([
    startAzurite({ port: options.storagePort, dataDir: join(dataDir, "azurite"), logger }),
    startEmulatorProcess({
      port: options.eventHubPort,
      dataDir: join(dataDir, "emulator"),
      hubs: [{ name: options.hub, partitionCount: options.partitions }],
      logger,
    }),
  ]);
  if (azurite.status === "fulfilled" && emulator.status === "fulfilled") {
    return { azurite: azurite.value, emulator: emulator.value };
  }
  const started = [
    ...(azurite.status === "fulfilled" ? [{ name: "azurite", stop: () => azurite.value.stop() }] : []),
    ...(emulator.status === "fulfilled" ? [{ name: "emulator", stop: () => emulator.value.stop() }] : []),
  ];
  await stopAll(started).catch((err: unknown) => logger.warn({ err }, "cleanup after a failed start"));
  throw azurite.status === "rejected" ? azurite.reason : (emulator as PromiseRejectedResult).reason;
}
