import { afterEach, describe, expect, it } from "vitest";
import { ProcessError } from "../../../src/common/errors.js";
import { type ManagedChild, spawnChild, startChild } from "../../../src/local/child.js";
import { waitFor } from "../../helpers/wait-for.js";

const started: ManagedChild[] = [];

function node(name: string, script: string, extraArgs: string[] = []) {
  return { name, command: process.execPath, args: ["-e", script, "--", ...extraArgs] };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}

afterEach(async () => {
  for (const child of started.splice(0)) await child.kill();
});

describe("ManagedChild", () => {
  it("is ready on a matching output line and captures later lines for listeners", async () => {
    const child = await startChild({
      ...node(
        "echo",
        "console.log('booting'); console.log('READY 42'); setInterval(() => console.error('tick'), 20);",
      ),
      ready: { line: (l) => l.stream === "stdout" && l.text.startsWith("READY"), timeoutMs: 10_000 },
    });
    started.push(child);
    expect(child.running).toBe(true);
    expect(child.outputTail().map((l) => l.text)).toContain("READY 42");
    const seen: string[] = [];
    child.onLine((l) => seen.push(`${l.stream}:${l.text}`));
    await waitFor(() => seen.includes("stderr:tick"), { timeoutMs: 5_000, what: "a stderr line" });
    const exit = await child.stop();
    expect(exit).toEqual({ code: null, signal: "SIGTERM" });
    expect(isAlive(child.pid)).toBe(false);
  });

  it("counts a ready line printed before waiting started", async () => {
    const child = await spawnChild(node("early", "console.log('READY'); setInterval(() => {}, 1000);"));
    started.push(child);
    await waitFor(() => child.outputTail().length > 0, { timeoutMs: 5_000, what: "output" });
    await child.waitUntilReady({ line: (l) => l.text === "READY", timeoutMs: 5_000 });
    expect(child.running).toBe(true);
  });

  it("waits for a probe after the line and treats probe errors as not yet", async () => {
    let calls = 0;
    const child = await startChild({
      ...node("probe", "console.log('up'); setInterval(() => {}, 1000);"),
      ready: {
        line: (l) => l.text === "up",
        probe: async () => {
          calls += 1;
          if (calls === 1) throw new Error("refused");
          return calls >= 3;
        },
        probeIntervalMs: 10,
        timeoutMs: 5_000,
      },
    });
    started.push(child);
    expect(calls).toBe(3);
  });

  it("rejects with the exit code, command line and last output when the process exits first", async () => {
    const attempt = startChild({
      ...node("crasher", "console.log('starting'); console.error('bad flag --key'); process.exit(3);", [
        "--key",
        "hunter2",
      ]),
      ready: { line: () => false, timeoutMs: 10_000 },
    });
    const err = await attempt.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessError);
    const message = (err as ProcessError).message;
    expect(message).toContain("crasher exited with code 3 before it was ready");
    expect(message).toContain(`command: ${process.execPath} -e`);
    expect(message).toContain("--key [redacted]");
    expect(message).not.toContain("hunter2");
    expect(message).toContain("[stdout] starting");
    expect(message).toContain("[stderr] bad flag --key");
    expect((err as ProcessError).context.exitCode).toBe(3);
  });

  it("kills a process that is not ready in time, and says so", async () => {
    const err = await startChild({
      ...node("sleeper", "setInterval(() => {}, 1000);"),
      ready: { probe: async () => false, timeoutMs: 300, what: "never" },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessError);
    expect((err as Error).message).toContain(
      "sleeper was not ready within 300 ms (waiting for never); killed it",
    );
    const pid = (err as ProcessError).context.pid;
    expect(typeof pid).toBe("number");
    expect(isAlive(pid as number)).toBe(false);
    expect((err as ProcessError).context.exitSignal).toBe("SIGKILL");
  });

  it("escalates to SIGKILL when SIGTERM is ignored", async () => {
    const child = await startChild({
      ...node(
        "stubborn",
        "process.on('SIGTERM', () => console.log('ignored')); console.log('ok'); setInterval(() => {}, 1000);",
      ),
      ready: { line: (l) => l.text === "ok", timeoutMs: 5_000 },
    });
    started.push(child);
    const exit = await child.stop({ timeoutMs: 300 });
    expect(exit.signal).toBe("SIGKILL");
    expect(child.outputTail().map((l) => l.text)).toContain("ignored");
    expect(isAlive(child.pid)).toBe(false);
    expect(await child.stop()).toEqual(exit);
  });

  it("rejects with a ProcessError when the command cannot be started", async () => {
    const err = await spawnChild({ name: "missing", command: "/nonexistent/ehw-binary", args: [] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProcessError);
    expect((err as Error).message).toContain("/nonexistent/ehw-binary");
    expect((err as NodeJS.ErrnoException & { cause: { code: string } }).cause.code).toBe("ENOENT");
  });
});
