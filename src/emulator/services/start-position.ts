/**
 * Reader start positions: the text of the `apache.org:selector-filter:string` source filter the SDK
 * puts on a receiver link, parsed into a typed position the partition log can resolve.
 */
import { EmulatorProtocolError } from "../errors.js";

/** Where a new reader starts in a partition. */
export type StartPosition =
  /** From the first retained event (`x-opt-offset > '-1'`). */
  | { kind: "earliest" }
  /** After the last event at the time the reader attaches (`x-opt-offset > '@latest'`). */
  | { kind: "latest" }
  /** After (or at, when inclusive) the event with this offset, a decimal string. */
  | { kind: "offset"; offset: string; inclusive: boolean }
  /** After (or at, when inclusive) the event with this sequence number. */
  | { kind: "sequence"; sequenceNumber: number; inclusive: boolean }
  /** The first event enqueued after (or at, when inclusive) this time, in ms since the Unix epoch. */
  | { kind: "enqueuedTime"; timeMs: number; inclusive: boolean };

/** The AMQP condition sent when a filter cannot be understood. */
export const INVALID_FILTER_CONDITION = "amqp:invalid-field";

const FILTER_PATTERN =
  /^\s*amqp\.annotation\.x-opt-(offset|sequence-number|enqueued-time)\s*(>=|>)\s*'([^']*)'\s*$/i;
const INTEGER_PATTERN = /^\s*-?\d+\s*$/;

/**
 * Parses a selector filter such as `amqp.annotation.x-opt-offset > '-1'`. Accepted forms: offset,
 * sequence number and enqueued time (ms), each with `>` or `>=`; offset `'-1'` means earliest and
 * `'@latest'` latest. Whitespace around the parts is ignored.
 * @throws EmulatorProtocolError (condition `amqp:invalid-field`) for anything else.
 */
export function parseSelectorFilter(expression: string): StartPosition {
  const match = FILTER_PATTERN.exec(expression);
  if (!match)
    throw invalid(
      expression,
      "expected amqp.annotation.x-opt-<offset|sequence-number|enqueued-time> >[=] '<value>'",
    );
  const field = (match[1] ?? "").toLowerCase();
  const inclusive = match[2] === ">=";
  const value = (match[3] ?? "").trim();
  if (field === "offset") return parseOffset(expression, value, inclusive);
  const n = parseInteger(expression, value);
  if (field === "sequence-number") return { kind: "sequence", sequenceNumber: n, inclusive };
  return { kind: "enqueuedTime", timeMs: n, inclusive };
}

function parseOffset(expression: string, value: string, inclusive: boolean): StartPosition {
  if (value === "-1") return { kind: "earliest" };
  if (value.toLowerCase() === "@latest") return { kind: "latest" };
  if (!/^\d+$/.test(value))
    throw invalid(expression, "an offset is '-1', '@latest' or a non-negative integer");
  // Canonical form, so "007" and "7" name the same offset.
  return { kind: "offset", offset: BigInt(value).toString(), inclusive };
}

function parseInteger(expression: string, value: string): number {
  if (!INTEGER_PATTERN.test(value)) throw invalid(expression, "the value must be an integer");
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw invalid(expression, "the value is out of range");
  return n;
}

function invalid(expression: string, why: string): EmulatorProtocolError {
  return new EmulatorProtocolError(
    INVALID_FILTER_CONDITION,
    `unsupported selector filter ${JSON.stringify(expression)}: ${why}`,
  );
}
