/**
 * A client that never authenticates must not make the emulator hold memory for it: a frame larger
 * than the advertised max-frame-size closes the connection, and so does silence past the
 * handshake deadline. The real SDK, which authenticates at once and splits large messages into
 * frames, is unaffected.
 */
import { connect, type Socket } from "node:net";
import { EventHubConsumerClient, EventHubProducerClient } from "@azure/event-hubs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorServer } from "../../../src/emulator/index.js";
import { MAX_FRAME_BYTES } from "../../../src/emulator/server/frame-guard.js";
import { Closer, FAST_RETRY, freshHub, startTestEmulator } from "./harness.js";

const HANDSHAKE_TIMEOUT_MS = 1_000;
/** The SASL protocol header a client sends first. */
const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x03, 0x01, 0x00, 0x00]);

let emulator: EmulatorServer;
const closer = new Closer();

beforeAll(async () => {
  emulator = await startTestEmulator({ handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS });
});

afterAll(async () => {
  await closer.closeAll();
  await emulator.close();
});

/** A raw TCP connection to the emulator, and a promise of when the emulator closed it. */
async function rawConnection(): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = connect({ host: "127.0.0.1", port: emulator.amqpPort });
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const opened = Date.now();
  const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now() - opened)));
  return { socket, closed };
}

describe("the emulator's frame guard", () => {
  it("closes a connection that announces a frame larger than max-frame-size, before buffering it", async () => {
    const { socket, closed } = await rawConnection();
    const header = Buffer.alloc(8);
    header.writeUInt32BE(200 * 1024 * 1024, 0);
    header.writeUInt8(2, 4);
    socket.write(Buffer.concat([SASL_HEADER, header]));
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024);
    // Keep streaming the announced frame until the emulator hangs up (or 8 MiB, which it must not take).
    while (!socket.destroyed && sent < 8 * 1024 * 1024) {
      if (!socket.write(chunk))
        await new Promise((resolve) => socket.once("drain", resolve).once("close", resolve));
      sent += chunk.length;
    }
    expect(await closed).toBeLessThan(HANDSHAKE_TIMEOUT_MS);
    expect(emulator.connectionCount()).toBe(0);
  });

  it("closes a connection that stays silent past the handshake deadline", async () => {
    const { closed } = await rawConnection();
    const ms = await closed;
    expect(ms).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 5_000);
  });

  it("lets the SDK send and receive an event larger than one frame, and keep its connection", async () => {
    const hub = freshHub(emulator, 1);
    const producer = closer.add(
      new EventHubProducerClient(emulator.connectionString(), hub, { retryOptions: FAST_RETRY }),
    );
    const body = "x".repeat(3 * MAX_FRAME_BYTES);
    await producer.sendBatch([{ body }], { partitionId: "0" });
    const consumer = closer.add(
      new EventHubConsumerClient("$default", emulator.connectionString(), hub, { retryOptions: FAST_RETRY }),
    );
    const received = await new Promise<unknown>((resolve, reject) => {
      const subscription = consumer.subscribe(
        "0",
        {
          processEvents: async (events) => {
            if (events.length > 0) {
              await subscription.close();
              resolve(events[0]?.body);
            }
          },
          processError: async (err) => reject(err),
        },
        { startPosition: { sequenceNumber: -1 } },
      );
    });
    expect(received).toBe(body);
    // Past the handshake deadline, the authenticated connection is still in use.
    await new Promise((resolve) => setTimeout(resolve, HANDSHAKE_TIMEOUT_MS + 200));
    expect((await producer.getEventHubProperties()).name).toBe(hub);
  });
});
