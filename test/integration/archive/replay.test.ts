/**
 * `ehw archive list|replay` against archives written by a real worker: a time range replayed into
 * a ledger pipeline of a config runs exactly the archived events enqueued in that range, each once,
 * and a sequence range re-sent to another hub arrives there whole.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { EventHubProducerClient } from "@azure/event-hubs";
import { BlobServiceClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { parseLedger } from "../../../src/handlers/builtins/ledger.js";
import { ehwCommand } from "../../../src/local/cli-command.js";
import { readArchiveFiles } from "../../helpers/archive.js";
import { freshHub, testStack, uniqueName } from "../../helpers/stack.js";
import { startWorker, useWorkerTests } from "../worker/support.js";
import { archiveWorkerEnv, waitForArchived, writeArchiveConfig } from "./support.js";

const run = promisify(execFile);
const GROUP = 20;

async function sendGroup(hubName: string, group: number): Promise<void> {
  const producer = new EventHubProducerClient(testStack().emulator.connectionString, hubName);
  try {
    for (const partitionId of ["0", "1"]) {
      const ids = Array.from({ length: GROUP }, (_, n) => `g${group}-${partitionId}-${n}`);
      await producer.sendBatch(
        ids.map((id) => ({ body: { id }, properties: { id } })),
        { partitionId },
      );
    }
  } finally {
    await producer.close();
  }
}

async function ehw(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  const { command, args: full } = ehwCommand(args);
  return run(command, full, { env, timeout: 120_000 });
}

describe("ehw archive", () => {
  const tests = useWorkerTests();

  it("replays exactly the events of a time range into a ledger pipeline, and a range to a hub", async () => {
    const { hubName, containerName, dir } = await tests.fresh(2);
    const archiveName = uniqueName("arch");
    const ledger = join(dir, "replayed.jsonl");
    const config = await writeArchiveConfig(
      dir,
      { container: archiveName },
      {
        handlers: {
          archive: { builtin: "archive", options: { container: archiveName } },
          ledger: { builtin: "ledger", options: { file: ledger } },
        },
        pipelines: { default: ["archive"], replayed: ["ledger"] },
      },
    );
    const env = archiveWorkerEnv(hubName, containerName);
    tests.workers.push(await startWorker("archiver", env, ["--config", config]));
    const archive = BlobServiceClient.fromConnectionString(
      testStack().azurite.connectionString,
    ).getContainerClient(archiveName);
    // Three groups with gaps between them, so that a range can take the middle one and some of no other.
    for (const group of [1, 2, 3]) {
      await sendGroup(hubName, group);
      await waitForArchived(archive, group * 2 * GROUP);
      if (group < 3) await new Promise((resolve) => setTimeout(resolve, 300));
    }
    for (const worker of tests.workers.splice(0)) await worker.child.stop({ timeoutMs: 15_000 });

    const records = [...(await readArchiveFiles(archive)).values()].flat().map((r) => ({
      id: String((r.Properties as Record<string, { string: string }>).id?.string),
      seq: r.SequenceNumber,
      at: Date.parse(String(r.EnqueuedTimeUtc)),
    }));
    const times = (group: number) => records.filter((r) => r.id.startsWith(`g${group}-`)).map((r) => r.at);
    // From the middle of group 1's events to just after group 2's last: a range that splits a group.
    const g1 = times(1).sort((a, b) => a - b);
    const from = new Date(g1[Math.floor(g1.length / 2)] as number);
    const to = new Date(Math.max(...times(2)) + 1);
    const expected = records.filter((r) => r.at >= from.getTime() && r.at < to.getTime()).map((r) => r.id);
    expect(expected.length).toBeGreaterThan(2 * GROUP);
    expect(expected.length).toBeLessThan(3 * 2 * GROUP);

    const listed = await ehw(["archive", "list", "--config", config, "--json"], env);
    const files = JSON.parse(listed.stdout) as Array<{ partitionId: string; eventCount: number }>;
    expect(files.map((f) => f.partitionId).sort()).toEqual(["0", "1"]);
    expect(files.reduce((sum, f) => sum + f.eventCount, 0)).toBe(3 * 2 * GROUP);

    const replayed = await ehw(
      [
        "archive",
        "replay",
        "--config",
        config,
        "--pipeline",
        "replayed",
        "--from",
        from.toISOString(),
        "--to",
        to.toISOString(),
      ],
      env,
    );
    expect(replayed.stdout).toContain(`replayed ${expected.length} events from 2 file(s) to pipelines`);
    expect(replayed.stderr).toContain("events replayed");
    const lines = parseLedger(await readFile(ledger, "utf8"));
    expect(lines.map((l) => String(l.id)).sort()).toEqual([...expected].sort());

    // A sequence range of one partition, re-sent to another hub.
    const target = await freshHub(2);
    const sent = await ehw(
      [
        "archive",
        "replay",
        "--config",
        config,
        "--partition",
        "1",
        "--from-sequence",
        "5",
        "--to-sequence",
        "24",
        "--to-hub",
        target.hubName,
        "--json",
      ],
      env,
    );
    expect(JSON.parse(sent.stdout)).toMatchObject({
      events: 20,
      byTarget: { "partition 1": 20 },
      target: `hub ${target.hubName}`,
    });
    const check = new EventHubProducerClient(testStack().emulator.connectionString, target.hubName);
    try {
      const partition = await check.getPartitionProperties("1");
      expect([partition.beginningSequenceNumber, partition.lastEnqueuedSequenceNumber]).toEqual([0, 19]);
    } finally {
      await check.close();
    }
  });
});
