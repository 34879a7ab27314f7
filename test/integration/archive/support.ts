/** Shared pieces of the archive integration tests: worker configs, Python's reader, waiting for files. */
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ContainerClient } from "@azure/storage-blob";
import { fromBlobMetadata } from "../../../src/handlers/builtins/archive/storage.js";
import { waitFor } from "../../helpers/wait-for.js";
import { stackWorkerEnv } from "../worker/support.js";

/** Debian's python3-avro lives in the system Python, not in a pyenv one that may be first on PATH. */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** Why the Python read-back cannot run here, or undefined when it can. */
export function pythonAvroMissing(): string | undefined {
  const probe = spawnSync(SYSTEM_PYTHON, ["-c", "import avro.datafile"], { encoding: "utf8" });
  if (probe.error !== undefined) return `${SYSTEM_PYTHON} cannot run (${probe.error.message})`;
  if (probe.status !== 0) return `${SYSTEM_PYTHON} has no avro module (apt-get install python3-avro)`;
  return undefined;
}

/** The reader script: one JSON document per file, values tagged with their Avro type. */
export const READ_CAPTURE = fileURLToPath(new URL("../../fixtures/archive/read_capture.py", import.meta.url));

/** A value as the script tags it. */
export type Tagged = Record<string, unknown>;

/** One file as Apache Avro's Python reader saw it. */
export interface PythonFile {
  path: string;
  schema: string;
  codec: string;
  records: Array<Record<string, Tagged>>;
}

/** Runs the reader over files; throws with its stderr when it fails. */
export function readWithPython(paths: readonly string[]): PythonFile[] {
  const run = spawnSync(SYSTEM_PYTHON, [READ_CAPTURE, ...paths], { encoding: "utf8", maxBuffer: 256 << 20 });
  if (run.status !== 0) throw new Error(`read_capture.py failed (${run.status}): ${run.stderr}`);
  return run.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as PythonFile);
}

/** Writes a worker config whose default pipeline is the archive with these options. */
export async function writeArchiveConfig(
  dir: string,
  archiveOptions: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const file = join(dir, "archive.config.json");
  const config = {
    handlers: { archive: { builtin: "archive", options: archiveOptions } },
    pipelines: { default: ["archive"] },
    ...extra,
  };
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}

/** Env of an archiving `ehw run` on a test hub and checkpoint container. */
export function archiveWorkerEnv(
  hubName: string,
  containerName: string,
  overrides: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return stackWorkerEnv(hubName, containerName, overrides);
}

/** Events the archive's files hold in all, by their metadata. */
export async function archivedEventCount(container: ContainerClient): Promise<number> {
  let count = 0;
  for await (const blob of container.listBlobsFlat({ includeMetadata: true })) {
    count += fromBlobMetadata(blob.metadata)?.eventCount ?? 0;
  }
  return count;
}

/** Waits until the archive's files hold `count` events. */
export async function waitForArchived(
  container: ContainerClient,
  count: number,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(async () => (await archivedEventCount(container).catch(() => 0)) >= count, {
    timeoutMs,
    intervalMs: 250,
    what: `${count} events in the archive's files`,
  });
}
