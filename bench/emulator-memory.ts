/**
 * Memory (and, in passing, append/read speed) of the emulator's partition log.
 *
 * Encodes realistic events the way @azure/event-hubs sends them (rhea `message.encode`: a data
 * section body, an application property `id`, message annotations, `x-opt-partition-key` and a
 * durable header on every second event), stores them in one PartitionLog and reports the bytes
 * per stored event against the encoded size, from `memoryBytes()` and from process deltas.
 *
 * Run: node --expose-gc --import tsx bench/emulator-memory.ts [events=200000] [bodyBytes=100] [eventsPerAppend=50] [--persist]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import rhea from "rhea";
import { PartitionLog } from "../src/emulator/storage/partition-log.js";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const persist = process.argv.includes("--persist");
const eventCount = Number(args[0] ?? 200_000);
const bodyBytes = Number(args[1] ?? 100);
const APPEND_BATCH = Number(args[2] ?? 50);
const READ_BATCH = 300;

const gc = (globalThis as { gc?: () => void }).gc;
function collect(): void {
  if (gc === undefined) return;
  for (let i = 0; i < 3; i++) gc();
}

function encodeEvent(i: number): Buffer {
  const json = JSON.stringify({ device: `device-${i % 1000}`, seq: i, reading: (i * 7919) % 10_000 });
  const body = Buffer.alloc(bodyBytes, 0x20);
  body.write(json.slice(0, bodyBytes));
  const partitionKey = i % 2 === 0 ? `device-${i % 1000}` : undefined;
  const msg: Record<string, unknown> = {
    body: rhea.message.data_section(body),
    message_annotations: partitionKey === undefined ? {} : { "x-opt-partition-key": partitionKey },
    application_properties: { id: `evt-${i}` },
  };
  if (partitionKey !== undefined) msg.durable = true;
  return rhea.message.encode(msg);
}

function snapshot(): NodeJS.MemoryUsage {
  collect();
  return process.memoryUsage();
}

function perEvent(bytes: number): string {
  return (bytes / eventCount).toFixed(1);
}

/** Module scope, so the inputs stay alive through both snapshots whatever the optimiser does. */
const inputs: { message: Buffer; partitionKey?: string }[] = [];

function main(): void {
  if (gc === undefined) console.log("note: run with node --expose-gc for meaningful heap figures");
  let encodedBytes = 0;
  for (let i = 0; i < eventCount; i++) {
    const message = encodeEvent(i);
    encodedBytes += message.length;
    inputs.push(i % 2 === 0 ? { message, partitionKey: `device-${i % 1000}` } : { message });
  }
  const dataDir = persist ? mkdtempSync(join(tmpdir(), "ehw-bench-mem-")) : undefined;
  const before = snapshot();

  const log = PartitionLog.open(dataDir === undefined ? {} : { dataDir });
  const appendStart = process.hrtime.bigint();
  for (let i = 0; i < inputs.length; i += APPEND_BATCH) log.append(inputs.slice(i, i + APPEND_BATCH));
  const appendMs = Number(process.hrtime.bigint() - appendStart) / 1e6;

  const after = snapshot();
  const readStart = process.hrtime.bigint();
  let readCount = 0;
  let checksum = 0;
  for (let seq = 0; ; ) {
    const events = log.read(seq, READ_BATCH);
    if (events.length === 0) break;
    for (const e of events) checksum += e.message.length;
    readCount += events.length;
    seq = events[events.length - 1]!.sequenceNumber + 1;
  }
  const readMs = Number(process.hrtime.bigint() - readStart) / 1e6;
  if (readCount !== eventCount || checksum !== encodedBytes) throw new Error("read back a different log");

  const avgEncoded = encodedBytes / eventCount;
  const heapExternal = after.heapUsed + after.external - before.heapUsed - before.external;
  const figures = {
    events: eventCount,
    bodyBytes,
    eventsPerAppend: APPEND_BATCH,
    persist,
    avgEncodedBytes: avgEncoded.toFixed(1),
    memoryBytesPerEvent: perEvent(log.memoryBytes()),
    memoryBytesRatio: (log.memoryBytes() / encodedBytes).toFixed(2),
    heapPlusExternalPerEvent: perEvent(heapExternal),
    heapPlusExternalRatio: (heapExternal / encodedBytes).toFixed(2),
    heapUsedPerEvent: perEvent(after.heapUsed - before.heapUsed),
    arrayBuffersPerEvent: perEvent(after.arrayBuffers - before.arrayBuffers),
    rssPerEvent: perEvent(after.rss - before.rss),
    rssRatio: ((after.rss - before.rss) / encodedBytes).toFixed(2),
    appendEventsPerSec: Math.round(eventCount / (appendMs / 1000)),
    readEventsPerSec: Math.round(eventCount / (readMs / 1000)),
  };
  for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(26)} ${value}`);
  log.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
}

main();
