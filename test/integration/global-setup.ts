/**
 * Starts Azurite and one emulator process on free ports for the whole integration run, provides
 * their coordinates to tests (see test/helpers/stack.ts), and stops both by PID at the end.
 * The provided types are declared in test/helpers/stack.ts.
 * Azurite's data directory is temporary and removed on stop; the emulator keeps events in memory.
 */
import type { TestProject } from "vitest/node";
import { startLocalStack } from "../../src/local/index.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // If either fails to start, startLocalStack stops the other and rejects with its ProcessError.
  const { azurite, emulator, stop } = await startLocalStack();
  project.provide("azurite", {
    pid: azurite.pid,
    port: azurite.port,
    connectionString: azurite.connectionString,
  });
  project.provide("emulator", {
    pid: emulator.pid,
    amqpPort: emulator.amqpPort,
    adminPort: emulator.adminPort,
    adminUrl: emulator.adminUrl,
    connectionString: emulator.connectionString,
    keyName: emulator.keyName,
    key: emulator.key,
  });
  return stop;
}
