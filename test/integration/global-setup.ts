/**
 * Starts Azurite and one emulator for the whole integration run, provides their coordinates to
 * tests (see test/helpers/stack.ts), and stops both at the end.
 *
 * `TEST_ENV=local` (default): local processes on free ports, stopped by PID; Azurite's data
 * directory is temporary and removed on stop, the emulator keeps events in memory.
 * `TEST_ENV=containers`: the same two parts in containers (test/helpers/containers.ts), with
 * `TEST_HUB_IMAGE=ours|microsoft`; it fails at once when no Docker engine answers.
 */
import type { TestProject } from "vitest/node";
import { startLocalStack } from "../../src/local/index.js";
import type { ProvidedAzurite, ProvidedEmulator } from "../helpers/stack.js";

/** The environment the integration tests run against, from `TEST_ENV`. */
type TestEnvironment = "local" | "containers";

function testEnvironment(value: string | undefined): TestEnvironment {
  if (value === undefined || value === "" || value === "local") return "local";
  if (value === "containers") return "containers";
  throw new Error(`TEST_ENV must be "local" or "containers", not "${value}"`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started =
    testEnvironment(process.env.TEST_ENV) === "containers" ? await startInContainers() : await startLocally();
  project.provide("azurite", started.azurite);
  project.provide("emulator", started.emulator);
  return started.stop;
}

interface Started {
  azurite: ProvidedAzurite;
  emulator: ProvidedEmulator;
  stop: () => Promise<void>;
}

async function startLocally(): Promise<Started> {
  // If either fails to start, startLocalStack stops the other and rejects with its ProcessError.
  const { azurite, emulator, stop } = await startLocalStack();
  return {
    azurite: { pid: azurite.pid, port: azurite.port, connectionString: azurite.connectionString },
    emulator: {
      pid: emulator.pid,
      amqpPort: emulator.amqpPort,
      adminPort: emulator.adminPort,
      adminUrl: emulator.adminUrl,
      connectionString: emulator.connectionString,
      keyName: emulator.keyName,
      key: emulator.key,
    },
    stop,
  };
}

async function startInContainers(): Promise<Started> {
  // Loaded only here: the default local run never imports testcontainers.
  const { hubImageFrom, startContainerStack } = await import("../helpers/containers.js");
  return startContainerStack({
    hubImage: hubImageFrom(process.env.TEST_HUB_IMAGE),
    acceptEula: process.env.ACCEPT_EULA === "Y",
  });
}
