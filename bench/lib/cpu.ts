/**
 * CPU time of the processes in a benchmark. On a shared machine wall-clock rates move with the
 * neighbours' load; events per CPU-second of the consumer process do not, so the benchmarks report
 * both. Linux only for other processes (/proc/<pid>/stat); this process uses process.cpuUsage().
 */
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc times (USER_HZ; 100 on every mainstream Linux build). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far, or undefined if it cannot be read. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; the fields after its closing ")" do not.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return (utime + stime) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU seconds used by this process so far. */
export function selfCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** CPU used by each process over a window of wall time. */
export interface CpuUsage {
  /** Wall seconds of the window. */
  wallSeconds: number;
  /** CPU seconds per named process (undefined when it could not be read). */
  seconds: Record<string, number | undefined>;
}

/** A running measurement; `stop()` returns the usage since it started. */
export interface CpuWindow {
  stop(): CpuUsage;
}

/**
 * Starts measuring CPU of this process (as `self`) and of the given processes by PID.
 * A PID whose /proc entry cannot be read reports undefined.
 */
export function startCpuWindow(pids: Record<string, number>): CpuWindow {
  const startedAt = performance.now();
  const read = (): Record<string, number | undefined> => ({
    self: selfCpuSeconds(),
    ...Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuSeconds(pid)])),
  });
  const before = read();
  return {
    stop: () => {
      const after = read();
      const seconds: Record<string, number | undefined> = {};
      for (const [name, value] of Object.entries(after)) {
        const start = before[name];
        seconds[name] = value === undefined || start === undefined ? undefined : value - start;
      }
      return { wallSeconds: (performance.now() - startedAt) / 1000, seconds };
    },
  };
}
