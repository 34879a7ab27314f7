/**
 * Byte-level walking of encoded AMQP messages. The emulator stores every event exactly as the
 * client encoded it and only ever needs to find section boundaries, so it skips values by their
 * code's width class instead of decoding them.
 */
import { EmulatorProtocolError } from "../errors.js";

/** Descriptor codes of the message sections (AMQP 1.0 §3.2), in their required order. */
export const SECTION = {
  header: 0x70,
  deliveryAnnotations: 0x71,
  messageAnnotations: 0x72,
  properties: 0x73,
  applicationProperties: 0x74,
  data: 0x75,
  amqpSequence: 0x76,
  amqpValue: 0x77,
  footer: 0x78,
} as const;

/** One section of an encoded message: its descriptor code and where it lies in the buffer. */
export interface SectionSpan {
  /** Descriptor code (see {@link SECTION}). */
  code: number;
  /** Offset of the section's first byte (the 0x00 described-type marker). */
  start: number;
  /** Offset of the section's value code (after the descriptor). */
  valueStart: number;
  /** Offset just past the section. */
  end: number;
}

function decodeError(message: string): EmulatorProtocolError {
  return new EmulatorProtocolError("amqp:decode-error", message);
}

function need(buf: Buffer, pos: number, bytes: number): void {
  if (pos + bytes > buf.length) throw decodeError(`truncated AMQP value at byte ${pos}`);
}

/** Returns the offset just past the encoded value starting at `pos`. */
export function skipValue(buf: Buffer, pos: number): number {
  need(buf, pos, 1);
  const code = buf[pos] as number;
  if (code === 0x00) return skipValue(buf, skipValue(buf, pos + 1));
  const p = pos + 1;
  switch (code >> 4) {
    case 0x4:
      return p;
    case 0x5:
      need(buf, p, 1);
      return p + 1;
    case 0x6:
      need(buf, p, 2);
      return p + 2;
    case 0x7:
      need(buf, p, 4);
      return p + 4;
    case 0x8:
      need(buf, p, 8);
      return p + 8;
    case 0x9:
      need(buf, p, 16);
      return p + 16;
    case 0xa:
    case 0xc:
    case 0xe:
      need(buf, p, 1);
      return checked(buf, p + 1 + (buf[p] as number));
    case 0xb:
    case 0xd:
    case 0xf:
      need(buf, p, 4);
      return checked(buf, p + 4 + buf.readUInt32BE(p));
    default:
      throw decodeError(`unknown AMQP code 0x${code.toString(16)} at byte ${pos}`);
  }
}

function checked(buf: Buffer, end: number): number {
  if (end > buf.length) throw decodeError("AMQP value runs past the end of the message");
  return end;
}

/** Reads a section descriptor (small or full ulong) at `pos`; returns its code and the value offset. */
function readDescriptor(buf: Buffer, pos: number): { code: number; valueStart: number } {
  need(buf, pos, 2);
  if (buf[pos] !== 0x00) throw decodeError(`expected a message section at byte ${pos}`);
  const format = buf[pos + 1];
  if (format === 0x53) {
    need(buf, pos + 2, 1);
    return { code: buf[pos + 2] as number, valueStart: pos + 3 };
  }
  if (format === 0x80) {
    need(buf, pos + 2, 8);
    // Section codes are small: the high word is the (zero) domain id.
    return { code: buf.readUInt32BE(pos + 6), valueStart: pos + 10 };
  }
  if (format === 0x44) return { code: 0, valueStart: pos + 2 };
  throw decodeError(`unsupported section descriptor 0x${String(format?.toString(16))} at byte ${pos}`);
}

/** Splits an encoded message into its sections. */
export function listSections(buf: Buffer): SectionSpan[] {
  const spans: SectionSpan[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const { code, valueStart } = readDescriptor(buf, pos);
    const end = skipValue(buf, valueStart);
    spans.push({ code, start: pos, valueStart, end });
    pos = end;
  }
  return spans;
}

/** The payload of a binary value (vbin8 or vbin32) at `pos`. */
export function readBinary(buf: Buffer, pos: number): Buffer {
  need(buf, pos, 1);
  const code = buf[pos];
  if (code === 0xa0) {
    need(buf, pos, 2);
    const size = buf[pos + 1] as number;
    return buf.subarray(pos + 2, checked(buf, pos + 2 + size));
  }
  if (code === 0xb0) {
    need(buf, pos, 5);
    const size = buf.readUInt32BE(pos + 1);
    return buf.subarray(pos + 5, checked(buf, pos + 5 + size));
  }
  throw decodeError(`expected binary data at byte ${pos}`);
}

/**
 * The key/value pairs of a map value at `pos` as raw bytes, with the pair count (entries × 2).
 * Used to carry a message's own annotations over unchanged.
 */
export function mapBody(buf: Buffer, pos: number): { pairs: Buffer; count: number } {
  need(buf, pos, 1);
  const code = buf[pos];
  if (code === 0xc1) {
    need(buf, pos, 3);
    const size = buf[pos + 1] as number;
    return { pairs: buf.subarray(pos + 3, checked(buf, pos + 2 + size)), count: buf[pos + 2] as number };
  }
  if (code === 0xd1) {
    need(buf, pos, 9);
    const size = buf.readUInt32BE(pos + 1);
    return { pairs: buf.subarray(pos + 9, checked(buf, pos + 5 + size)), count: buf.readUInt32BE(pos + 5) };
  }
  throw decodeError(`expected a map at byte ${pos}`);
}
