/**
 * What the integration `globalSetup` started (Azurite and one emulator, as local processes or,
 * with `TEST_ENV=containers`, as containers), and fresh, uniquely named hubs and containers on
 * them so that tests never share state.
 */
import { randomBytes } from "node:crypto";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { inject } from "vitest";
import { createEmulatorHub } from "../../src/local/emulator-process.js";

/** Azurite as started by the global setup. */
export interface ProvidedAzurite {
  /** PID of the local process; 0 in a container (there is no local process: never signal it). */
  pid: number;
  port: number;
  /** Storage connection string for the development account. */
  connectionString: string;
}

/** The emulator as started by the global setup. */
export interface ProvidedEmulator {
  /** PID of the local process; 0 in a container (there is no local process: never signal it). */
  pid: number;
  amqpPort: number;
  /** Admin HTTP port; with Microsoft's emulator, its health port (it has no admin endpoint). */
  adminPort: number;
  /** `http://127.0.0.1:<adminPort>`. */
  adminUrl: string;
  /** Namespace connection string (no EntityPath). */
  connectionString: string;
  keyName: string;
  key: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    azurite: ProvidedAzurite;
    emulator: ProvidedEmulator;
  }
}

/** The processes the integration global setup started. */
export function testStack(): { azurite: ProvidedAzurite; emulator: ProvidedEmulator } {
  return { azurite: inject("azurite"), emulator: inject("emulator") };
}

/**
 * A name no other test uses: lower-case letters, digits and single hyphens, starting with the
 * sanitised `prefix` (default "t"), at most 63 characters — valid for hubs and blob containers.
 */
export function uniqueName(prefix = "t"): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/-+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40) || "t";
  const suffix = `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
  return `${clean}-${suffix}`;
}

/** Creates a hub with a unique name on the shared emulator. */
export async function freshHub(
  partitionCount = 4,
  consumerGroups?: string[],
): Promise<{ hubName: string; connectionString: string }> {
  const { emulator } = testStack();
  const hubName = uniqueName("hub");
  await createEmulatorHub(emulator.adminUrl, { name: hubName, partitionCount, consumerGroups });
  return { hubName, connectionString: emulator.connectionString };
}

/** Creates a blob container with a unique name on the shared Azurite. */
export async function freshContainer(
  prefix = "ckpt",
): Promise<{ containerName: string; containerClient: ContainerClient }> {
  const { azurite } = testStack();
  const containerName = uniqueName(prefix);
  const containerClient = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    containerName,
  );
  await containerClient.create();
  return { containerName, containerClient };
}
