/**
 * `ehw send` as a child process against the shared emulator, read back with a plain
 * EventHubConsumerClient.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import {
  EventHubConsumerClient,
  EventHubProducerClient,
  earliestEventPosition,
  type ReceivedEventData,
} from "@azure/event-hubs";
import { afterEach, describe, expect, it } from "vitest";
import { ehwCommand } from "../../../src/local/cli-command.js";
import { freshHub, testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";

const children: ChildProcess[] = [];

afterEach(() => {
  // Stopped by PID; only processes that have not exited yet.
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, "SIGKILL");
    }
  }
});

interface SendRun {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves with the exit code once the process exited and its output is read to the end. */
  closed: Promise<number | null>;
}

/** Starts `ehw send ...args`; the connection string comes from `env` when given there. */
function startSend(args: string[], env: NodeJS.ProcessEnv = {}): SendRun {
  const { command, args: full } = ehwCommand(["send", ...args]);
  const child = spawn(command, full, {
    env: { ...process.env, EHW_EVENTHUB_CONNECTION_STRING: "", EHW_EVENTHUB_NAME: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => stdout.push(line));
  createInterface({ input: child.stderr! }).on("line", (line) => stderr.push(line));
  const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { child, stdout, stderr, closed };
}

async function send(args: string[], env?: NodeJS.ProcessEnv) {
  const run = startSend(args, env);
  const code = await run.closed;
  return { ...run, code };
}

interface Received {
  partitionId: string;
  id: number;
  type: unknown;
  key: string | undefined;
  sequenceNumber: number;
  bodyBytes: number;
}

/** Reads every partition from the start until `expected` events arrived (or the wait times out). */
async function readBack(connectionString: string, hubName: string, expected: number): Promise<Received[]> {
  const client = new EventHubConsumerClient("$Default", connectionString, hubName);
  const received: Received[] = [];
  const onEvents = async (events: ReceivedEventData[], partitionId: string) => {
    for (const event of events) {
      received.push({
        partitionId,
        id: event.properties?.id as number,
        type: event.properties?.type,
        key: event.partitionKey ?? undefined,
        sequenceNumber: event.sequenceNumber,
        bodyBytes: Buffer.isBuffer(event.body) ? event.body.length : -1,
      });
    }
  };
  const subscription = client.subscribe(
    {
      processEvents: (events, context) => onEvents(events, context.partitionId),
      processError: async () => {},
    },
    { startPosition: earliestEventPosition, maxBatchSize: 1000, maxWaitTimeInSeconds: 1 },
  );
  try {
    await waitFor(() => received.length >= expected, {
      timeoutMs: 60_000,
      what: `${expected} events (have ${received.length})`,
    });
  } finally {
    await subscription.close();
    await client.close();
  }
  return received;
}

/** Events the hub holds over all partitions, from the partitions' last sequence numbers. */
async function eventsOnHub(connectionString: string, hubName: string): Promise<number> {
  const client = new EventHubProducerClient(connectionString, hubName);
  try {
    let total = 0;
    for (const id of await client.getPartitionIds()) {
      const p = await client.getPartitionProperties(id);
      total += p.isEmpty ? 0 : p.lastEnqueuedSequenceNumber - p.beginningSequenceNumber + 1;
    }
    return total;
  } finally {
    await client.close();
  }
}

function summaryOf(stdout: string[]): Record<string, unknown> {
  const line = stdout.find((l) => l.startsWith("{"));
  expect(line, `a JSON summary on stdout, got ${JSON.stringify(stdout)}`).toBeDefined();
  return JSON.parse(line as string) as Record<string, unknown>;
}

const range = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);

describe("ehw send", () => {
  it("sends ids 0..N-1 over K keys, each key on one partition in id order", async () => {
    const { hubName, connectionString } = await freshHub(4);
    const count = 5000;
    const run = await send(["--hub", hubName, "--count", String(count), "--keys", "8", "--json"], {
      EHW_EVENTHUB_CONNECTION_STRING: connectionString,
    });
    expect(run.code, run.stderr.join("\n")).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ hub: hubName, sent: count, firstId: 0, lastId: count - 1 });

    const received = await readBack(connectionString, hubName, count);
    expect(received.map((r) => r.id).sort((a, b) => a - b)).toEqual(range(0, count));
    const partitionsOfKey = new Map<string, Set<string>>();
    for (const r of received) {
      expect(r.key).toBe(`key-${r.id % 8}`);
      const set = partitionsOfKey.get(r.key as string) ?? new Set<string>();
      set.add(r.partitionId);
      partitionsOfKey.set(r.key as string, set);
    }
    expect(partitionsOfKey.size).toBe(8);
    for (const partitions of partitionsOfKey.values()) expect(partitions.size).toBe(1);
    for (let k = 0; k < 8; k++) {
      const ids = received
        .filter((r) => r.key === `key-${k}`)
        .sort((a, b) => a.sequenceNumber - b.sequenceNumber)
        .map((r) => r.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }
  });

  it("numbers from --id-start and sets --type and --body-size", async () => {
    const { hubName, connectionString } = await freshHub(2);
    const run = await send([
      "--connection-string",
      connectionString,
      "--hub",
      hubName,
      "--count",
      "3000",
      "--id-start",
      "100",
      "--type",
      "order.created",
      "--body-size",
      "10",
      "--json",
    ]);
    expect(run.code, run.stderr.join("\n")).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ sent: 3000, firstId: 100, lastId: 3099 });
    const received = await readBack(connectionString, hubName, 3000);
    expect(received.map((r) => r.id).sort((a, b) => a - b)).toEqual(range(100, 3000));
    expect(new Set(received.map((r) => r.type))).toEqual(new Set(["order.created"]));
    expect(new Set(received.map((r) => r.bodyBytes))).toEqual(new Set([10]));
    expect(received.every((r) => Number.isInteger(r.id))).toBe(true);
  });

  it("sends every event to --partition", async () => {
    const { hubName, connectionString } = await freshHub(4);
    const run = await send([
      "--connection-string",
      connectionString,
      "--hub",
      hubName,
      "--count",
      "500",
      "--partition",
      "2",
    ]);
    expect(run.code, run.stderr.join("\n")).toBe(0);
    expect(run.stdout.join("\n")).toMatch(
      /^sent 500 events in \d+ batches to '.*' in [\d.]+ s \(\d+ events\/s\), ids 0\.\.499$/,
    );
    const received = await readBack(connectionString, hubName, 500);
    expect(new Set(received.map((r) => r.partitionId))).toEqual(new Set(["2"]));
  });

  it("stops after the batches in flight on SIGINT and reports exactly what reached the hub", async () => {
    const { hubName, connectionString } = await freshHub(2);
    const run = startSend(["--hub", hubName, "--count", "1000000", "--rate", "2000", "--json"], {
      EHW_EVENTHUB_CONNECTION_STRING: connectionString,
    });
    await waitFor(() => run.stderr.some((l) => /^ehw send: [1-9]\d*\/1000000 sent/.test(l)), {
      timeoutMs: 30_000,
      what: "a progress line with events sent",
    });
    process.kill(run.child.pid as number, "SIGINT");
    expect(await run.closed).toBe(130);
    const summary = summaryOf(run.stdout);
    expect(summary.interrupted).toBe(true);
    const sent = summary.sent as number;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(1_000_000);
    expect(await eventsOnHub(connectionString, hubName)).toBe(sent);
  });

  it.each([
    [["--count", "0"], /^ehw send: --count must be a whole number from 1 to/],
    [["--keys", "2", "--partition", "1"], /^ehw send: --partition and --keys exclude each other/],
    [["--rate=-3"], /^ehw send: --rate must be a number of events per second above 0/],
    [["--partition", "7"], /^ehw send: --partition "7" is not a partition of hub/],
  ])("rejects %j as a usage error (exit code 2) with a message naming the flag", async (flags, pattern) => {
    const { hubName, connectionString } = await freshHub(2);
    const run = await send(["--connection-string", connectionString, "--hub", hubName, ...flags]);
    expect(run.code).toBe(2);
    expect(run.stderr.join("\n")).toMatch(pattern);
    expect(run.stdout).toEqual([]);
  });

  it("rejects an unknown flag with exit code 2 and the usage", async () => {
    const run = await send(["--no-such-flag"]);
    expect(run.code).toBe(2);
    expect(run.stderr[0]).toMatch(/^ehw send: Unknown option '--no-such-flag'/);
  });

  it("fails on an unknown hub or a refused key with one line and exit code 1, never printing the key", async () => {
    const { emulator } = testStack();
    const unknown = await send(["--connection-string", emulator.connectionString, "--hub", "no-such-hub"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toEqual([
      expect.stringMatching(
        /^ehw send: cannot reach hub 'no-such-hub' at 127\.0\.0\.1:\d+: MessagingEntityNotFoundError/,
      ),
    ]);

    const { hubName } = await freshHub(1);
    const wrongKey = emulator.connectionString.replace(
      /SharedAccessKey=[^;]+/,
      "SharedAccessKey=d3Jvbmcta2V5",
    );
    const denied = await send(["--connection-string", wrongKey, "--hub", hubName]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toEqual([
      expect.stringMatching(
        /^ehw send: hub '.*' at 127\.0\.0\.1:\d+ refused the key or token \(UnauthorizedError.*check SharedAccessKeyName and SharedAccessKey/,
      ),
    ]);
    expect(denied.stderr.join("")).not.toContain("cannot reach");
    expect(denied.stderr.join("")).not.toContain("d3Jvbmcta2V5");
    expect(unknown.stderr.join("")).not.toContain(emulator.key);
  });
});
