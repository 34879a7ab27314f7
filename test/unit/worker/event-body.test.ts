import type { ReceivedEventData } from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { decodeBodies, jsonOrBytes } from "../../../src/worker/subscription.js";

/** What the SDK does with a data section when it parses bodies (dataTransformer's tryToJsonDecode). */
function sdkDecode(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return bytes;
  }
}

function received(body: unknown, bodyType: "data" | "value" | "sequence"): ReceivedEventData {
  const raw = { body, bodyType };
  return { body, getRawAmqpMessage: () => raw } as unknown as ReceivedEventData;
}

const samples = [
  '{"n":1,"s":"x"}',
  "[1,2,3]",
  '"text"',
  "-12.5e3",
  "0",
  "true",
  "false",
  "null",
  ' \t\r\n {"padded":true} \n',
  "",
  "   ",
  "aaaa",
  "<not json>",
  "{broken",
  "nope",
  "12abc",
  '\uFEFF{"bom":1}',
  "+1",
  ".5",
  "'single'",
  "\u00e9t\u00e9",
];

describe("jsonOrBytes", () => {
  it.each(samples)("decodes %j as the SDK does", (text) => {
    const bytes = Buffer.from(text, "utf8");
    expect(jsonOrBytes(bytes)).toEqual(sdkDecode(bytes));
  });

  it("agrees with the SDK on JSON texts, damaged or not, and on random bytes", () => {
    let seed = 7;
    const next = (bound: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % bound;
    };
    const values = [{ a: [1, "x", null] }, [true, false], "s", -0.5, 42, null, { nested: { k: "é" } }];
    const noise = Buffer.from(' \t\n\r{}[]",:-+.09eEtfn\\\xef\xbb\xbf\x00\xff', "latin1");
    let parsed = 0;
    let kept = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = [...Buffer.from(JSON.stringify(values[next(values.length)]), "utf8")];
      // Damage most texts: cut them, or put a byte in front, inside or at the end.
      for (let d = next(3); d > 0; d--) {
        const at = next(bytes.length + 1);
        if (next(4) === 0) bytes.length = at;
        else bytes.splice(at, 0, next(3) === 0 ? next(256) : (noise[next(noise.length)] ?? 0));
      }
      const buffer = Buffer.from(bytes);
      const expected = sdkDecode(buffer);
      if (Buffer.isBuffer(expected)) kept++;
      else parsed++;
      expect(jsonOrBytes(buffer), buffer.toString("hex")).toEqual(expected);
    }
    // The draw must reach both outcomes often for the comparison to mean anything.
    expect(Math.min(parsed, kept)).toBeGreaterThan(2_000);
  });

  it("returns the very bytes it was given when they hold no JSON", () => {
    const bytes = Buffer.from("plain text");
    expect(jsonOrBytes(bytes)).toBe(bytes);
  });
});

describe("decodeBodies", () => {
  it("decodes data sections only, in place", () => {
    const json = Buffer.from('{"type":"order"}');
    const binary = Buffer.from([0x00, 0xff, 0x10]);
    const value = Buffer.from('{"kept":"as bytes"}');
    const events = [
      received(json, "data"),
      received(binary, "data"),
      received(value, "value"),
      received([1, 2], "sequence"),
    ];
    decodeBodies(events);
    expect(events.map((e) => e.body)).toEqual([{ type: "order" }, binary, value, [1, 2]]);
    expect(events[1]?.body).toBe(binary);
    expect(events[2]?.body).toBe(value);
  });
});
