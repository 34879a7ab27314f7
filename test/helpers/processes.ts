/** Process checks for tests that start real processes. */

/** Whether a process with this PID exists (signal 0 probes without signalling). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    // EPERM: it exists but belongs to someone else.
    if (code === "EPERM") return true;
    throw err;
  }
}

/** The error `process.kill(pid, 0)` throws, or undefined if it throws none (the process exists). */
export function probeError(pid: number): NodeJS.ErrnoException | undefined {
  try {
    process.kill(pid, 0);
    return undefined;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}
