import { type ChildProcess, spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmulatorProtocolError } from "../../../src/emulator/errors.js";
import { PartitionLog, type PartitionLogOptions } from "../../../src/emulator/storage/partition-log.js";
import { encodeRecord } from "../../../src/emulator/storage/segment-files.js";

const dirs: string[] = [];
const logs: PartitionLog[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, "SIGKILL");
    }
  }
  for (const log of logs.splice(0)) log.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ehw-plog-"));
  dirs.push(dir);
  return dir;
}

function open(options: PartitionLogOptions): PartitionLog {
  const log = PartitionLog.open(options);
  logs.push(log);
  return log;
}

function msg(i: number, size = 40): Buffer {
  const b = Buffer.alloc(size, i & 0xff);
  b.writeUInt32BE(i, 0);
  return b;
}

function fill(log: PartitionLog, count: number, from = 0, perAppend = 3): void {
  for (let i = from; i < from + count; i += perAppend) {
    const batch = [];
    for (let k = i; k < Math.min(i + perAppend, from + count); k++) {
      batch.push({ message: msg(k, 20 + (k % 37)), partitionKey: k % 2 === 0 ? `key-${k % 5}` : undefined });
    }
    log.append(batch);
  }
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith(".seg"))
    .sort();
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);
}

function ticking(startMs: number, stepMs: number): () => number {
  let t = startMs;
  return () => (t += stepMs);
}

/** What opening the log in `dir` throws; undefined when it opens. */
function openError(dir: string): unknown {
  try {
    PartitionLog.open({ dataDir: dir });
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("PartitionLog persistence", () => {
  it("restores every event with identical numbering, offsets, times, keys and bytes", () => {
    const dir = tempDir();
    const first = PartitionLog.open({ dataDir: dir, now: ticking(1_000, 7) });
    fill(first, 100);
    const before = first.read(0, 1000);
    // No close(): a crash must lose nothing that append() returned for.
    const second = open({ dataDir: dir });
    expect(second.read(0, 1000)).toEqual(before);
    expect(second.info()).toEqual(first.info());
    first.close();
  });

  it("continues numbering and offsets after a restart", () => {
    const dir = tempDir();
    const first = PartitionLog.open({ dataDir: dir });
    fill(first, 10);
    const last = first.info();
    first.close();
    const second = open({ dataDir: dir });
    const result = second.append([{ message: msg(10, 5) }]);
    expect(result.firstSequenceNumber).toBe(10);
    const [event] = second.read(10, 1);
    const lastEvent = second.read(9, 1)[0]!;
    expect(event?.offset).toBe(String(Number(last.lastOffset) + lastEvent.message.length));
  });

  it.each([
    ["a partial header", (record: Buffer) => record.subarray(0, 5)],
    ["a partial body", (record: Buffer) => record.subarray(0, record.length - 3)],
    [
      "a corrupted checksum",
      (record: Buffer) => Buffer.concat([record.subarray(0, 20), Buffer.from([0x55]), record.subarray(21)]),
    ],
  ])("detects a torn final record (%s), truncates it and carries on", (_name, tear) => {
    const dir = tempDir();
    const first = PartitionLog.open({ dataDir: dir });
    fill(first, 12);
    const before = first.read(0, 100);
    first.close();
    const [segment] = segments(dir);
    const path = join(dir, segment!);
    const goodSize = statSync(path).size;
    appendFileSync(path, tear(encodeRecord(12, 9999, 5, [{ message: msg(12) }, { message: msg(13) }])));

    const second = PartitionLog.open({ dataDir: dir });
    expect(second.read(0, 100)).toEqual(before);
    expect(statSync(path).size).toBe(goodSize);
    expect(second.append([{ message: msg(12) }]).firstSequenceNumber).toBe(12);
    second.close();
    const third = open({ dataDir: dir });
    expect(third.read(0, 100).map((e) => e.sequenceNumber)).toEqual([
      ...before.map((e) => e.sequenceNumber),
      12,
    ]);
  });

  it("refuses to open when a segment before the last is damaged", () => {
    const dir = tempDir();
    const first = PartitionLog.open({ dataDir: dir, segmentBytes: 200 });
    fill(first, 40);
    first.close();
    const [oldest] = segments(dir);
    expect(segments(dir).length).toBeGreaterThan(2);
    const path = join(dir, oldest!);
    const bytes = readFileSync(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(path, bytes);
    const caught = openError(dir);
    expect(caught).toBeInstanceOf(EmulatorProtocolError);
    expect((caught as EmulatorProtocolError).message).toContain(oldest);
  });

  it("refuses to open, naming the file and offset, when a record with records after it is damaged", () => {
    const dir = tempDir();
    const first = PartitionLog.open({ dataDir: dir });
    fill(first, 30);
    first.close();
    const [segment] = segments(dir);
    expect(segments(dir)).toHaveLength(1);
    const path = join(dir, segment!);
    const bytes = readFileSync(path);
    // A byte inside the second record's body: the first record stays good, many follow.
    const firstRecordEnd = 12 + bytes.readUInt32LE(4);
    const damagedAt = firstRecordEnd + 12 + 3;
    bytes.writeUInt8(bytes.readUInt8(damagedAt) ^ 0xff, damagedAt);
    writeFileSync(path, bytes);
    const caught = openError(dir);
    expect(caught).toBeInstanceOf(EmulatorProtocolError);
    expect((caught as Error).message).toContain(`damaged record at byte ${firstRecordEnd} of ${path}`);
    // Nothing was cut: the events after the damage are still on disk for a restore.
    expect(statSync(path).size).toBe(bytes.length);
  });

  it("refuses to open when state.json says more was handed out than the files hold", () => {
    const dir = tempDir();
    const first = PartitionLog.open({ dataDir: dir });
    fill(first, 20);
    first.close();
    const statePath = join(dir, "state.json");
    const state = JSON.parse(readFileSync(statePath, "utf8")) as { nextSequenceNumber: number };
    writeFileSync(statePath, JSON.stringify({ ...state, nextSequenceNumber: 200 }));
    expect(() => PartitionLog.open({ dataDir: dir })).toThrow(/before sequence number 200.*end at 19/);
  });

  it("deletes old segments under count retention so disk use stays bounded", () => {
    const dir = tempDir();
    const log = open({ dataDir: dir, segmentBytes: 1024, retentionEvents: 50 });
    fill(log, 300);
    const afterFirst = dirBytes(dir);
    fill(log, 3000, 300);
    expect(log.info()).toMatchObject({ beginSequenceNumber: 3250, lastSequenceNumber: 3299 });
    expect(segments(dir)[0]).not.toBe("0000000000000000.seg");
    // 50 retained events of at most ~80 bytes each, plus up to one segment of slack on each side.
    expect(dirBytes(dir)).toBeLessThan(50 * 100 + 3 * 1024);
    expect(dirBytes(dir)).toBeLessThan(afterFirst * 2);
  });

  it("restores exactly the retained events, resolvable by offset, after retention and restart", () => {
    const dir = tempDir();
    const first = PartitionLog.open({ dataDir: dir, segmentBytes: 512, retentionEvents: 20 });
    fill(first, 95);
    const retained = first.read(0, 1000);
    expect(retained.map((e) => e.sequenceNumber)).toEqual(Array.from({ length: 20 }, (_v, k) => 75 + k));
    first.close();
    // Reopened without retention options: what retention dropped stays dropped.
    const second = open({ dataDir: dir });
    expect(second.read(0, 1000)).toEqual(retained);
    for (const e of retained) {
      expect(second.resolve({ kind: "offset", offset: e.offset, inclusive: true })).toBe(e.sequenceNumber);
      expect(second.resolve({ kind: "offset", offset: e.offset, inclusive: false })).toBe(
        e.sequenceNumber + 1,
      );
    }
    expect(second.resolve({ kind: "offset", offset: "0", inclusive: false })).toBe(75);
    expect(second.resolve({ kind: "sequence", sequenceNumber: 3, inclusive: true })).toBe(75);
  });

  it("keeps numbering after age retention has deleted everything", () => {
    const dir = tempDir();
    let now = 1_000_000;
    const first = PartitionLog.open({ dataDir: dir, segmentBytes: 256, retentionMs: 60_000, now: () => now });
    fill(first, 30);
    const lastOffset = Number(first.info().lastOffset);
    now += 60_001;
    expect(first.applyRetention()).toBe(30);
    expect(segments(dir)).toEqual([]);
    first.close();

    const second = open({ dataDir: dir, retentionMs: 60_000, now: () => now });
    expect(second.info().isEmpty).toBe(true);
    expect(second.resolve({ kind: "earliest" })).toBe(30);
    expect(second.append([{ message: msg(30) }]).firstSequenceNumber).toBe(30);
    expect(Number(second.read(30, 1)[0]?.offset)).toBeGreaterThan(lastOffset);
  });

  it("applies age retention when it opens", () => {
    const dir = tempDir();
    const first = PartitionLog.open({ dataDir: dir, now: () => 1_000 });
    fill(first, 6, 0, 3);
    first.close();
    const second = open({ dataDir: dir, retentionMs: 500, now: () => 2_000 });
    expect(second.info().isEmpty).toBe(true);
    expect(second.resolve({ kind: "latest" })).toBe(6);
  });

  it.skipIf(!existsSync("/dev/full"))("leaves nothing behind when the write fails", () => {
    const dir = tempDir();
    const log = open({ dataDir: dir, segmentBytes: 64 });
    fill(log, 3, 0, 3);
    const before = log.read(0, 100);
    // The next append starts a new segment named after its first sequence number.
    symlinkSync("/dev/full", join(dir, "0000000000000003.seg"));
    let caught: unknown;
    try {
      log.append([{ message: msg(3) }, { message: msg(4) }]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EmulatorProtocolError);
    expect((caught as EmulatorProtocolError).retriable).toBe(true);
    expect(log.read(0, 100)).toEqual(before);
    expect(log.info().lastSequenceNumber).toBe(2);
  });

  it("keeps every acknowledged append when the process is killed with SIGKILL", async () => {
    const dir = tempDir();
    const script = join(dir, "writer.mjs");
    const moduleUrl = new URL(`file://${resolve("src/emulator/storage/partition-log.ts")}`).href;
    writeFileSync(
      script,
      `import { PartitionLog } from ${JSON.stringify(moduleUrl)};
const log = PartitionLog.open({ dataDir: ${JSON.stringify(join(dir, "p0"))} });
for (let i = 0; i < 500; i++) log.append([{ message: Buffer.from("event-" + i), partitionKey: "k" + (i % 3) }]);
process.stdout.write("appended 500\\n");
process.kill(process.pid, "SIGKILL");
`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: process.cwd(), stdio: "pipe" });
    children.push(child);
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((done) =>
      child.on("exit", (_code, sig) => done(sig)),
    );
    expect(signal).toBe("SIGKILL");
    expect(out).toContain("appended 500");
    const log = open({ dataDir: join(dir, "p0") });
    const events = log.read(0, 1000);
    expect(events).toHaveLength(500);
    expect(events[499]?.message.toString()).toBe("event-499");
    expect(events[499]?.partitionKey).toBe("k1");
  }, 30_000);
});
