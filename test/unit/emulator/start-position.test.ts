import { describe, expect, it } from "vitest";
import { EmulatorProtocolError } from "../../../src/emulator/errors.js";
import { parseSelectorFilter } from "../../../src/emulator/services/start-position.js";

describe("parseSelectorFilter", () => {
  it.each([
    ["amqp.annotation.x-opt-offset > '-1'", { kind: "earliest" }],
    ["amqp.annotation.x-opt-offset >= '-1'", { kind: "earliest" }],
    ["amqp.annotation.x-opt-offset > '@latest'", { kind: "latest" }],
    ["amqp.annotation.x-opt-offset > '1234'", { kind: "offset", offset: "1234", inclusive: false }],
    ["amqp.annotation.x-opt-offset >= '0'", { kind: "offset", offset: "0", inclusive: true }],
    ["amqp.annotation.x-opt-offset > '007'", { kind: "offset", offset: "7", inclusive: false }],
    [
      "amqp.annotation.x-opt-sequence-number > '41'",
      { kind: "sequence", sequenceNumber: 41, inclusive: false },
    ],
    [
      "amqp.annotation.x-opt-sequence-number >= '0'",
      { kind: "sequence", sequenceNumber: 0, inclusive: true },
    ],
    [
      "amqp.annotation.x-opt-sequence-number > '-1'",
      { kind: "sequence", sequenceNumber: -1, inclusive: false },
    ],
    [
      "amqp.annotation.x-opt-enqueued-time > '1700000000123'",
      { kind: "enqueuedTime", timeMs: 1700000000123, inclusive: false },
    ],
    [
      "amqp.annotation.x-opt-enqueued-time >= '1700000000123'",
      { kind: "enqueuedTime", timeMs: 1700000000123, inclusive: true },
    ],
    ["  amqp.annotation.x-opt-offset>'5'  ", { kind: "offset", offset: "5", inclusive: false }],
    [
      "amqp.annotation.x-opt-sequence-number\t>=\t' 9 '",
      { kind: "sequence", sequenceNumber: 9, inclusive: true },
    ],
    ["AMQP.Annotation.X-Opt-Offset > '@LATEST'", { kind: "latest" }],
  ])("parses %s", (expression, expected) => {
    expect(parseSelectorFilter(expression)).toEqual(expected);
  });

  it.each([
    "",
    "amqp.annotation.x-opt-offset = '5'",
    "amqp.annotation.x-opt-offset < '5'",
    "amqp.annotation.x-opt-offset > 5",
    "amqp.annotation.x-opt-offset > 'abc'",
    "amqp.annotation.x-opt-offset > '-2'",
    "amqp.annotation.x-opt-offset > '1.5'",
    "amqp.annotation.x-opt-sequence-number > 'ten'",
    "amqp.annotation.x-opt-sequence-number > '99999999999999999999'",
    "amqp.annotation.x-opt-enqueued-time > ''",
    "amqp.annotation.x-opt-partition-key > 'a'",
    "amqp.annotation.x-opt-offset > '5' OR 1=1",
  ])("refuses %j with an invalid-field protocol error naming it", (expression) => {
    let caught: unknown;
    try {
      parseSelectorFilter(expression);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(EmulatorProtocolError);
    const err = caught as EmulatorProtocolError;
    expect(err.condition).toBe("amqp:invalid-field");
    expect(err.code).toBe("EMULATOR_PROTOCOL");
    expect(err.message).toContain(JSON.stringify(expression));
  });
});
