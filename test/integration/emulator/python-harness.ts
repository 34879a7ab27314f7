/**
 * Running the fixture script test/fixtures/python/eventhub_roundtrip.py with Debian's unmodified
 * Python SDK (azure-eventhub 5.11) against an in-process emulator's amqps listener.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type ManagedChild, spawnChild } from "../../../src/local/child.js";
import { runToExit } from "../../helpers/run-to-exit.js";

/** Debian's azure-eventhub lives in the system Python, not in a pyenv one first on PATH. */
export const SYSTEM_PYTHON = "/usr/bin/python3";
export const SCRIPT = fileURLToPath(new URL("../../fixtures/python/eventhub_roundtrip.py", import.meta.url));
/** azure-eventhub 5.11 connects to this port whatever the connection string says. */
export const PYTHON_SDK_TLS_PORT = 5671;

/** Why the Python tests cannot run here, or undefined when they can. */
export function pythonSdkMissing(): string | undefined {
  const probe = spawnSync(SYSTEM_PYTHON, ["-c", "import azure.eventhub.extensions.checkpointstoreblob"], {
    encoding: "utf8",
  });
  if (probe.error !== undefined) return `${SYSTEM_PYTHON} cannot run (${probe.error.message})`;
  if (probe.status !== 0) return `${SYSTEM_PYTHON} has no azure.eventhub (apt-get install python3-azure)`;
  return undefined;
}

export interface Sent {
  id: string;
  partitionKey: string | null;
  partitionId: string | null;
}
export interface Received {
  id: string;
  partitionId: string;
  sequenceNumber: number;
  offset: string;
  enqueuedTimeMs: number;
  partitionKey: string | null;
}

export interface PythonRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script asynchronously (the emulator serves it from this process). */
export async function runPython(args: string[], caFile: string): Promise<PythonRun> {
  return runToExit(SYSTEM_PYTHON, [SCRIPT, ...args], { ...process.env, EHW_TEST_CA_FILE: caFile });
}

/** Runs the script and returns its stdout; throws with its stderr when it fails. */
export async function python(args: string[], caFile: string): Promise<string> {
  const { status, stdout, stderr } = await runPython(args, caFile);
  if (status !== 0)
    throw new Error(`eventhub_roundtrip.py ${args[0]} exited ${status}: ${stderr.slice(-2000)}`);
  return stdout;
}

/** Starts the script as a long-running child (stopped by PID through ManagedChild); `onLine` gets its stdout lines. */
export function spawnPython(
  name: string,
  args: string[],
  caFile: string,
  onLine: (text: string) => void,
): Promise<ManagedChild> {
  return spawnChild({
    name,
    command: SYSTEM_PYTHON,
    args: [SCRIPT, ...args],
    env: { ...process.env, EHW_TEST_CA_FILE: caFile },
    onLine: (line) => {
      if (line.stream === "stdout") onLine(line.text);
    },
  });
}
