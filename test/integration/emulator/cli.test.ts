/**
 * `ehw hub` as a process: the one-line JSON ready contract others parse, a usable connection
 * string, and a clean exit on SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { EventHubProducerClient } from "@azure/event-hubs";
import { afterEach, describe, expect, it } from "vitest";
import { ehwCommand } from "../../../src/local/cli-command.js";
import { waitFor } from "../../helpers/wait-for.js";
import { FAST_RETRY } from "./harness.js";

interface Started {
  child: ChildProcess;
  lines: string[];
  stderr: string[];
  exit: Promise<number | null>;
}

describe("ehw hub (process)", () => {
  const children: ChildProcess[] = [];

  afterEach(() => {
    for (const child of children.splice(0)) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
        process.kill(child.pid, "SIGKILL");
    }
  });

  function start(args: string[]): Started {
    const { command, args: full } = ehwCommand(["hub", ...args]);
    const child = spawn(command, full, { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const lines: string[] = [];
    const stderr: string[] = [];
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => lines.push(line));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { child, lines, stderr, exit };
  }

  it("prints exactly one JSON ready line, serves the SDK, and exits 0 on SIGTERM", async () => {
    const hub = start([
      "--json",
      "--port",
      "0",
      "--admin-port",
      "0",
      "--hub",
      "orders:3:billing",
      "--key-name",
      "dev",
      "--key",
      "k3y",
    ]);
    await waitFor(() => hub.lines.length > 0, { timeoutMs: 30_000, what: "the ready line" });
    const ready = JSON.parse(hub.lines[0] as string) as Record<string, unknown>;
    expect(ready).toMatchObject({
      event: "ready",
      host: "127.0.0.1",
      keyName: "dev",
      key: "k3y",
      hubs: [{ name: "orders", partitionCount: 3 }],
    });
    expect(ready.connectionString).toBe(
      `Endpoint=sb://127.0.0.1:${String(ready.amqpPort)};SharedAccessKeyName=dev;SharedAccessKey=k3y;UseDevelopmentEmulator=true`,
    );
    const health = await fetch(`http://127.0.0.1:${String(ready.adminPort)}/health`);
    expect(await health.json()).toMatchObject({ status: "ok", hubs: 1 });
    const producer = new EventHubProducerClient(ready.connectionString as string, "orders", {
      retryOptions: FAST_RETRY,
    });
    try {
      expect((await producer.getEventHubProperties()).partitionIds).toEqual(["0", "1", "2"]);
    } finally {
      await producer.close();
    }
    process.kill(hub.child.pid as number, "SIGTERM");
    expect(await hub.exit).toBe(0);
    expect(hub.lines).toHaveLength(1);
  });

  it("with --tls-port, reports the amqps listener and its CA file, and removes the CA on SIGTERM", async () => {
    const hub = start(["--json", "--port", "0", "--admin-port", "0", "--tls-port", "0"]);
    await waitFor(() => hub.lines.length > 0, { timeoutMs: 30_000, what: "the ready line" });
    const ready = JSON.parse(hub.lines[0] as string) as Record<string, unknown>;
    expect(ready.tlsPort).toBeTypeOf("number");
    expect(ready.tlsPort).not.toBe(ready.amqpPort);
    expect(ready.tlsConnectionString).toBe(
      `Endpoint=sb://127.0.0.1:${String(ready.tlsPort)};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${String(ready.key)}`,
    );
    const caFile = ready.caFile as string;
    expect(readFileSync(caFile, "utf8")).toContain("-----BEGIN CERTIFICATE-----");
    process.kill(hub.child.pid as number, "SIGTERM");
    expect(await hub.exit).toBe(0);
    expect(existsSync(caFile)).toBe(false);
  });

  it("refuses --tls-cert without --tls-key, naming both", async () => {
    const hub = start(["--json", "--tls-port", "0", "--tls-cert", "cert.pem"]);
    expect(await hub.exit).toBe(1);
    expect(hub.stderr.join("")).toContain("--tls-cert and --tls-key go together");
  });

  it("rejects a bad flag value naming the flag, with exit code 1", async () => {
    const hub = start(["--json", "--port", "99999"]);
    expect(await hub.exit).toBe(1);
    expect(hub.stderr.join("")).toContain("--port");
    expect(hub.lines).toEqual([]);
  });

  it("rejects an unknown flag with usage and exit code 2", async () => {
    const hub = start(["--nope"]);
    expect(await hub.exit).toBe(2);
    expect(hub.stderr.join("")).toContain("usage: ehw hub");
  });
});
