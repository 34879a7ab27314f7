// The launcher's side of the emulator contract, against a stand-in process, so that ports,
// restart and failure handling are covered independently of the emulator itself.
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessError } from "../../../src/common/errors.js";
import { type EmulatorProcess, startEmulatorProcess } from "../../../src/local/emulator-process.js";
import { httpStatus } from "../../../src/local/http-probe.js";
import { probeError, processExists } from "../../helpers/processes.js";

const fakeHub = fileURLToPath(new URL("./fixtures/fake-hub.mjs", import.meta.url));
const running: EmulatorProcess[] = [];

afterEach(async () => {
  for (const emulator of running.splice(0)) await emulator.stop();
});

function fake(mode = "ok") {
  return (args: string[]) => ({ command: process.execPath, args: [fakeHub, "--mode", mode, ...args] });
}

describe("startEmulatorProcess (stand-in hub)", () => {
  it("reports the bound ports and key, and restart() keeps them", async () => {
    const emulator = await startEmulatorProcess({ command: fake(), key: "k1" });
    running.push(emulator);
    const { amqpPort, adminPort, connectionString, pid } = emulator;
    expect(amqpPort).toBeGreaterThan(0);
    expect(adminPort).not.toBe(amqpPort);
    expect(emulator.adminUrl).toBe(`http://127.0.0.1:${adminPort}`);
    expect(emulator.key).toBe("k1");
    expect(await httpStatus(`${emulator.adminUrl}/health`)).toBe(200);
    await emulator.createHub({ name: "h1", partitionCount: 2 });

    await emulator.restart();
    expect(emulator.pid).not.toBe(pid);
    expect(probeError(pid)?.code).toBe("ESRCH");
    expect([emulator.amqpPort, emulator.adminPort]).toEqual([amqpPort, adminPort]);
    expect(emulator.connectionString).toBe(connectionString);
    expect(emulator.child.commandLine).toContain("--key [redacted]");
    expect(emulator.child.commandLine).not.toContain("k1");

    await emulator.stop();
    expect(probeError(emulator.pid)?.code).toBe("ESRCH");
  });

  it("times out when /health never answers 200, naming the wait, and kills the process", async () => {
    const err = await startEmulatorProcess({ command: fake("no-health"), readyTimeoutMs: 1_500 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProcessError);
    const message = (err as Error).message;
    expect(message).toContain("emulator was not ready within 1500 ms");
    expect(message).toContain("GET /health = 200");
    expect(message).toContain("[stdout] fake-hub: starting");
    const pid = (err as ProcessError).context.pid;
    expect(typeof pid).toBe("number");
    expect(processExists(pid as number)).toBe(false);
  });

  it("rejects an early exit with the exit code and the process's last words", async () => {
    const err = await startEmulatorProcess({ command: fake("exit") }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessError);
    expect((err as Error).message).toContain("emulator exited with code 4 before it was ready");
    expect((err as Error).message).toContain("[stderr] fake-hub: failing on purpose");
  });
});
