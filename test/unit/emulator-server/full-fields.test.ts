import { createRequire } from "node:module";
import type { Typed } from "rhea";
import { describe, expect, it } from "vitest";
import { performativeWithAllFields } from "../../../src/emulator/server/full-fields.js";

type Performative = { value: Typed[]; [field: string]: unknown };
const frames = createRequire(import.meta.url)("rhea/lib/frames.js") as Record<
  string,
  (fields: Record<string, unknown>) => Performative
> & {
  write_frame(frame: unknown): Buffer;
  read_frame(buffer: Buffer): { performative: Performative };
  amqp_frame(channel: number, performative: unknown): unknown;
};
const terminus = createRequire(import.meta.url)("rhea/lib/terminus.js") as {
  source(fields: Record<string, unknown>): { described(): Typed };
};

/** Encodes with rhea's writer and decodes with its reader: what a peer would see. */
function onTheWire(performative: Performative): Typed[] {
  const bytes = frames.write_frame(frames.amqp_frame(0, performative));
  return frames.read_frame(bytes).performative.value;
}

describe("performativeWithAllFields", () => {
  it("lists every field of a begin, with the spec's handle-max for null", () => {
    const begin = frames.begin?.({
      next_outgoing_id: 0,
      incoming_window: 10,
      outgoing_window: 10,
    }) as Performative;
    expect(onTheWire(begin).length).toBe(4);
    const fields = onTheWire(performativeWithAllFields(begin));
    expect(fields.length).toBe(8);
    expect(fields[4]?.value).toBe(0xffffffff);
    expect(fields.slice(5).map((f) => f.value)).toEqual([null, null, null]);
  });

  it("keeps set values and lists the fields of nested errors and sources", () => {
    const detach = frames.detach?.({ handle: 3, error: { condition: "amqp:link:stolen" } }) as Performative;
    const fields = onTheWire(performativeWithAllFields(detach));
    expect(fields.length).toBe(3);
    expect(fields[0]?.value).toBe(3);
    expect(fields[1]?.value).toBe(false);
    const error = fields[2]?.value as Typed[];
    expect(error.map((f) => f.value)).toEqual(["amqp:link:stolen", null, null]);

    const attach = frames.attach?.({
      name: "l",
      handle: 0,
      role: false,
      max_message_size: 1024,
    }) as Performative;
    attach.source = terminus.source({ address: "hub/Partitions/0" }).described();
    const listed = onTheWire(performativeWithAllFields(attach));
    expect(listed.length).toBe(14);
    expect(listed[3]?.value).toBe(2); // snd-settle-mode mixed
    expect((listed[5]?.value as Typed[] | undefined)?.length).toBe(11);
    expect(Number(listed[10]?.value)).toBe(1024);
  });

  it("leaves rhea's own performative as it was", () => {
    const end = frames.end?.({}) as Performative;
    performativeWithAllFields(end);
    expect(end.value.length).toBe(0);
  });
});
