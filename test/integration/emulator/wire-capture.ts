/**
 * A loopback TCP relay in front of the emulator that records every frame the emulator sends,
 * decoded with rhea's own frame reader, so tests can look at the performatives as they were on the
 * wire (field count included) rather than as a client library re-read them.
 */
import { createRequire } from "node:module";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import type { Typed } from "rhea";

interface RawFrame {
  type: number;
  channel: number;
  performative?: { value: Typed[]; constructor: { descriptor: { numeric: number; symbolic: string } } };
}

// rhea's frame codec is not part of its typed surface; it is the decoder rhea itself uses.
const frames = createRequire(import.meta.url)("rhea/lib/frames.js") as {
  read_frame(buffer: Buffer): (RawFrame & { size: number }) | null;
};

/** One performative the emulator sent. */
export interface SentPerformative {
  /** `open`, `begin`, `attach` … (from the descriptor `amqp:<name>:list`). */
  name: string;
  /** The list's fields as decoded, one entry per field on the wire. */
  fields: Typed[];
}

/** The relay: `port` is where clients connect instead of the emulator's. */
export interface WireCapture {
  readonly port: number;
  /** Performatives the emulator sent, in order, over every relayed connection. */
  readonly sent: SentPerformative[];
  close(): Promise<void>;
}

/** Splits one direction's byte stream into protocol headers and frames. */
class FrameReader {
  private pending = Buffer.alloc(0);

  constructor(private readonly onFrame: (frame: RawFrame) => void) {}

  push(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (this.pending.length >= 8 && this.pending.toString("ascii", 0, 4) === "AMQP") {
        this.pending = this.pending.subarray(8); // protocol header (SASL or AMQP)
        continue;
      }
      if (this.pending.length < 4) return;
      const size = this.pending.readUInt32BE(0);
      if (this.pending.length < size) return;
      const frame = frames.read_frame(this.pending.subarray(0, size));
      this.pending = this.pending.subarray(size);
      if (frame) this.onFrame(frame);
    }
  }
}

/** Starts a relay on 127.0.0.1 to the emulator at `targetPort`. */
export async function startWireCapture(targetPort: number): Promise<WireCapture> {
  const sent: SentPerformative[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: "127.0.0.1", port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    const reader = new FrameReader((frame) => {
      const p = frame.performative;
      if (frame.type !== 0 || p === undefined) return; // SASL frames and heartbeats
      const symbolic = p.constructor.descriptor.symbolic;
      sent.push({ name: symbolic.replace(/^amqp:(.*):list$/, "$1"), fields: p.value });
    });
    upstream.on("data", (chunk: Buffer) => {
      reader.push(chunk);
      client.write(chunk);
    });
    client.pipe(upstream);
    upstream.on("close", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
