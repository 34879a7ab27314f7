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
 * collecting its output.
 */
export async function runToExit(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildRun> {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const status = await new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { status, stdout, stderr };
}
