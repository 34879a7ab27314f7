/**
 * The discarding Blob stand-in of bench/fixtures/discard-blob-sink.mjs as a process of its own
 * (so its work is not on the consumer's event loop), with a storage connection string for it.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { azuriteConnectionString } from "../../src/local/azurite.js";

/** A running sink. */
export interface DiscardSink {
  readonly pid: number;
  /** Storage connection string that points at the sink (Azurite's account and key). */
  readonly connectionString: string;
  /** Stops it by PID. */
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL("../fixtures/discard-blob-sink.mjs", import.meta.url));

/** Starts the sink on a free loopback port; resolves once it listens. */
export async function startDiscardSink(): Promise<DiscardSink> {
  const child = spawn(process.execPath, [SCRIPT], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    lines.once("line", (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`the discard sink exited with ${code} before listening`)));
  });
  return {
    pid: child.pid as number,
    connectionString: azuriteConnectionString("127.0.0.1", port),
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
