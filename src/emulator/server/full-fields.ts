/**
 * Every field of every composite on the wire, as the Event Hubs service (Microsoft.Azure.Amqp)
 * encodes them. AMQP 1.0 lets an encoder drop a list's trailing null fields and rhea does; the
 * Python SDK's AMQP layer (azure-eventhub 5.x) reads performative and error fields by position
 * without a length check (`frame[4]` of begin, `frame[13]` of attach, `error[2]`), so a short list
 * breaks it. rhea has no option for this, so the emulator re-lists each outgoing performative at
 * the one place rhea hands a frame to its transport (`Connection._write_frame`, see write-hooks.ts).
 */
import rhea, { type Typed } from "rhea";

const { types } = rhea;

/** One field of a composite list: a value for null, or none (null stays null). */
type FieldDefault = (() => Typed) | undefined;

const NONE = undefined;
const FALSE: FieldDefault = () => types.wrap_boolean(false);
const uint =
  (n: number): FieldDefault =>
  () =>
    types.wrap_uint(n);
const ubyte =
  (n: number): FieldDefault =>
  () =>
    types.wrap_ubyte(n);
const ushort =
  (n: number): FieldDefault =>
  () =>
    types.wrap_ushort(n);
/** An empty `properties` map: the service always sends one on attach, and clients merge it. */
const NO_PROPERTIES: FieldDefault = () => types.wrap_symbolic_map({});
const nulls = (count: number): FieldDefault[] => new Array<FieldDefault>(count).fill(NONE);

/**
 * The AMQP 1.0 composites the emulator sends, by descriptor code: one entry per field of the
 * spec's list, with the spec's default where it has one (the service writes those values rather
 * than null, and a position-reading client compares them, e.g. `max_frame_size < 512`). The
 * Python SDK merges attach's properties into its own (`dict.update(None)` fails), so an attach
 * carries a map, empty when the emulator has none to send.
 */
export const COMPOSITE_FIELDS: ReadonlyMap<number, readonly FieldDefault[]> = new Map([
  // open: container-id, hostname, max-frame-size, channel-max, idle-time-out, outgoing-locales,
  // incoming-locales, offered-capabilities, desired-capabilities, properties
  [0x10, [NONE, NONE, uint(0xffffffff), ushort(0xffff), ...nulls(6)]],
  // begin: remote-channel, next-outgoing-id, incoming-window, outgoing-window, handle-max,
  // offered-capabilities, desired-capabilities, properties
  [0x11, [...nulls(4), uint(0xffffffff), ...nulls(3)]],
  // attach: name, handle, role, snd-settle-mode, rcv-settle-mode, source, target, unsettled,
  // incomplete-unsettled, initial-delivery-count, max-message-size, offered-capabilities,
  // desired-capabilities, properties
  [0x12, [...nulls(3), ubyte(2), ubyte(0), ...nulls(3), FALSE, ...nulls(4), NO_PROPERTIES]],
  // flow: next-incoming-id, incoming-window, next-outgoing-id, outgoing-window, handle,
  // delivery-count, link-credit, available, drain, echo, properties
  [0x13, [...nulls(8), FALSE, FALSE, NONE]],
  // transfer: handle, delivery-id, delivery-tag, message-format, settled, more, rcv-settle-mode,
  // state, resume, aborted, batchable
  [0x14, [...nulls(5), FALSE, NONE, NONE, FALSE, FALSE, FALSE]],
  // disposition: role, first, last, settled, state, batchable
  [0x15, [...nulls(3), FALSE, NONE, FALSE]],
  // detach: handle, closed, error
  [0x16, [NONE, FALSE, NONE]],
  // end: error; close: error
  [0x17, nulls(1)],
  [0x18, nulls(1)],
  // error: condition, description, info
  [0x1d, nulls(3)],
  // received: section-number, section-offset; rejected: error; modified: delivery-failed,
  // undeliverable-here, message-annotations
  [0x23, nulls(2)],
  [0x25, nulls(1)],
  [0x27, nulls(3)],
  // source: address … capabilities (11); target: address … capabilities (7)
  [0x28, nulls(11)],
  [0x29, nulls(7)],
]);

/** rhea's performative objects: a constructor with a descriptor and the list of field values. */
interface Performative {
  value: unknown[];
  constructor: (new (fields: unknown[]) => Performative) & { descriptor?: { numeric?: unknown } };
}

function isNull(value: unknown): boolean {
  return value === undefined || value === null || (value as Typed).value === null;
}

function fillFields(values: readonly unknown[], fields: readonly FieldDefault[]): unknown[] {
  const out = new Array<unknown>(Math.max(values.length, fields.length));
  for (let i = 0; i < out.length; i++) {
    const value = values[i];
    const fallback = fields[i];
    if (!isNull(value)) out[i] = withAllFields(value as Typed);
    else out[i] = fallback ? fallback() : types.wrap(null);
  }
  return out;
}

function descriptorCode(value: Typed): number | undefined {
  const code = (value.descriptor as Typed | undefined)?.value;
  return typeof code === "number" ? code : undefined;
}

/**
 * A described list of a known composite (error, source, outcome …) with every field present;
 * any other value is returned as it is.
 */
export function withAllFields(value: Typed): Typed {
  const code = descriptorCode(value);
  const fields = code === undefined ? undefined : COMPOSITE_FIELDS.get(code);
  if (fields === undefined || fields.length === 0 || !types.is_list(value)) return value;
  const items = Array.isArray(value.value) ? (value.value as unknown[]) : [];
  const list = types.wrap_list(fillFields(items, fields));
  list.descriptor = value.descriptor;
  return list;
}

/** A copy of a rhea performative with every field of its list present; rhea's own stays as it is. */
export function performativeWithAllFields<T>(performative: T): T {
  const p = performative as unknown as Performative;
  const code = p.constructor?.descriptor?.numeric;
  const fields = typeof code === "number" ? COMPOSITE_FIELDS.get(code) : undefined;
  if (fields === undefined || !Array.isArray(p.value)) return performative;
  return new p.constructor(fillFields(p.value, fields)) as unknown as T;
}
