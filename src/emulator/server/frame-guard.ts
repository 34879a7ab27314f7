/**
 * Limits a client may not pass before the AMQP layer buffers anything of it. rhea collects a frame
 * of any announced size until it is complete, so one connection that announces a huge frame and
 * streams it — without ever authenticating — holds that much memory (200 MB seen). This guard
 * reads the frame sizes off the socket itself and closes a connection whose frame is larger than
 * the emulator advertises, or that has not put a valid CBS token within the handshake deadline.
 */
import type { Socket } from "node:net";

/** The max-frame-size Event Hubs advertises, and so the emulator, in bytes. */
export const MAX_FRAME_BYTES = 65_536;
/** Default time a connection has to finish the AMQP handshake and put its first CBS token, ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** `AMQP` as a big-endian u32: the first four bytes of a protocol header. */
const PROTOCOL_HEADER_MAGIC = 0x414d5150;
const PROTOCOL_HEADER_BYTES = 8;
/** A client sends the SASL protocol header, then the AMQP one after SASL; never more. */
const MAX_PROTOCOL_HEADERS = 2;

/** Why a guarded connection was closed. */
export type GuardViolation =
  | { kind: "frame-too-large"; frameBytes: number; maxFrameBytes: number }
  | { kind: "handshake-timeout"; timeoutMs: number };

/** Options of {@link guardSocket}. */
export interface FrameGuardOptions {
  /** Largest frame accepted, bytes; default {@link MAX_FRAME_BYTES}. */
  readonly maxFrameBytes?: number;
  /** Time to the first accepted CBS token, ms; default {@link DEFAULT_HANDSHAKE_TIMEOUT_MS}. */
  readonly handshakeTimeoutMs?: number;
  /** Told once, just before the socket is destroyed. */
  readonly onViolation: (violation: GuardViolation) => void;
}

/** A guard on one socket. */
export interface FrameGuard {
  /** The connection put a valid token: the handshake deadline no longer applies. */
  authenticated(): void;
}

/** Watches `socket`'s frames and handshake; destroys it on a violation. */
export function guardSocket(socket: Socket, options: FrameGuardOptions): FrameGuard {
  const maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  const timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  let headers = 0;
  /** Bytes of the current frame (or header) still to come after the ones seen. */
  let skip = 0;
  /** Bytes of a frame size or header read so far, when a chunk ended inside one. */
  let partial = Buffer.alloc(0);
  let violated = false;

  const violate = (violation: GuardViolation): void => {
    if (violated) return;
    violated = true;
    clearTimeout(timer);
    socket.off("data", onData);
    options.onViolation(violation);
    socket.destroy();
  };

  const onData = (chunk: Buffer): void => {
    let pos = 0;
    while (pos < chunk.length && !violated) {
      if (skip > 0) {
        const step = Math.min(skip, chunk.length - pos);
        skip -= step;
        pos += step;
        continue;
      }
      // At a boundary: the next four bytes are a frame size or the start of a protocol header.
      const need = 4 - partial.length;
      const take = chunk.subarray(pos, pos + need);
      partial = partial.length === 0 ? Buffer.from(take) : Buffer.concat([partial, take]);
      pos += take.length;
      if (partial.length < 4) break;
      const word = partial.readUInt32BE(0);
      partial = Buffer.alloc(0);
      if (word === PROTOCOL_HEADER_MAGIC && headers < MAX_PROTOCOL_HEADERS) {
        headers += 1;
        skip = PROTOCOL_HEADER_BYTES - 4;
      } else if (word > maxFrameBytes) {
        violate({ kind: "frame-too-large", frameBytes: word, maxFrameBytes });
      } else {
        skip = Math.max(0, word - 4);
      }
    }
  };

  const timer = setTimeout(() => violate({ kind: "handshake-timeout", timeoutMs }), timeoutMs);
  timer.unref();
  socket.on("data", onData);
  socket.once("close", () => clearTimeout(timer));
  return { authenticated: () => clearTimeout(timer) };
}
