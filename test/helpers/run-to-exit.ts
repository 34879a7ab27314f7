import { spawn } from "node:child_process";

/** How a child process ended and what it printed. */
export interface ChildRun {
  /** Exit code; null when a signal ended it. */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `command args` asynchronously to its exit (so that a server in this process can serve it),
 * collecting its output. Resolves on `close`, once both pipes have ended, so that nothing the
 * child printed last is missed. `onSpawn` receives the child's PID, for a teardown that stops it
 * if the test ends first.
 */
export async function runToExit(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onSpawn?: (pid: number) => void,
): Promise<ChildRun> {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid !== undefined) onSpawn?.(child.pid);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const status = await new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { status, stdout, stderr };
}
