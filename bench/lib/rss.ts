/**
 * Resident memory of another process, from /proc/<pid>/status (Linux): VmRSS is what it holds
 * now, VmHWM the kernel's own peak since it started, so a short spike between samples still shows.
 */
import { readFileSync } from "node:fs";

/** A memory field of /proc/<pid>/status. */
export type StatusField = "VmRSS" | "VmHWM";

/** A field of /proc/<pid>/status in bytes, or undefined once the process is gone (or not Linux). */
export function statusBytes(pid: number, field: StatusField): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    );
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's VmRSS; `peakBytes()` is the larger of the samples and VmHWM. */
export class RssSampler {
  private sampled = 0;

  constructor(private readonly pid: number) {}

  /** Reads VmRSS now; returns it in bytes (0 once the process is gone). */
  sample(): number {
    const rss = statusBytes(this.pid, "VmRSS") ?? 0;
    this.sampled = Math.max(this.sampled, rss);
    return rss;
  }

  /** Highest VmRSS sampled so far, bytes. */
  get sampledPeakBytes(): number {
    return this.sampled;
  }

  /** Peak resident memory, bytes: VmHWM while the process lives, else the highest sample. */
  peakBytes(): number {
    return Math.max(this.sampled, statusBytes(this.pid, "VmHWM") ?? 0);
  }
}
