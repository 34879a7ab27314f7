/**
 * How the emulator changes the way rhea writes one server connection's frames, without forking
 * rhea: both wrap a method of rhea's connection object (`_process`, `_write_frame`).
 */

import type { Socket } from "node:net";
import type { Connection } from "rhea";
import { performativeWithAllFields } from "./full-fields.js";

/**
 * rhea writes every frame with its own `socket.write`; a reader pushing thousands of small
 * transfers then spends much of its time in per-write syscalls. Corking the socket for one rhea
 * processing pass turns those writes into one vectored write.
 */
export function corkWhileProcessing(connection: Connection): void {
  const internals = connection as unknown as { _process?: () => void; socket?: Socket };
  const original = internals._process;
  if (typeof original !== "function") return;
  internals._process = () => {
    const socket = internals.socket;
    socket?.cork();
    try {
      original.call(internals);
    } finally {
      socket?.uncork();
    }
  };
}

/** Makes one server connection write every performative with all its fields (see full-fields.ts). */
export function writeAllFields(connection: Connection): void {
  const internals = connection as unknown as {
    _write_frame?: (channel: number, frame: unknown, payload?: Buffer) => void;
  };
  const original = internals._write_frame;
  if (typeof original !== "function") return;
  internals._write_frame = (channel, frame, payload) =>
    original.call(
      internals,
      channel,
      frame === undefined ? frame : performativeWithAllFields(frame),
      payload,
    );
}
