/**
 * The spans of an OTLP/HTTP JSON export request (ExportTraceServiceRequest in the protobuf JSON
 * mapping, as `@opentelemetry/exporter-trace-otlp-http` sends it), reduced to what the dev view's
 * trace summary reads. Without I/O; a body of the wrong shape is refused with what was expected.
 */
import { EhwError } from "../common/errors.js";
import type { SpanRecord } from "./trace-summary.js";

/** Status code ERROR: a number in the JSON mapping, its enum name from some senders. */
const STATUS_ERROR = new Set<unknown>([2, "2", "STATUS_CODE_ERROR"]);
/** Span kind PRODUCER (the API's kind + 1 in OTLP), by number or enum name. */
const KIND_PRODUCER = new Set<unknown>([4, "4", "SPAN_KIND_PRODUCER"]);

function id(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Span ids of the span's parent and links. */
function relatedSpanIds(span: Json): string[] {
  const ids: string[] = [];
  const parent = id(span.parentSpanId);
  if (parent !== undefined) ids.push(parent);
  if (Array.isArray(span.links)) {
    for (const link of span.links) {
      const linked = isObject(link) ? id(link.spanId) : undefined;
      if (linked !== undefined) ids.push(linked);
    }
  }
  return ids;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function listOf(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(`${where} must be an array`);
  return value;
}

function badRequest(problem: string): EhwError {
  return new EhwError("OTLP_BAD_REQUEST", `not an OTLP/HTTP JSON trace export: ${problem}`);
}

/** A fixed64 nanosecond time (a decimal string, or a number) as milliseconds since the epoch. */
export function nanosToMs(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value / 1e6;
  if (typeof value === "string" && /^\d+$/.test(value)) {
    // Nanoseconds since the epoch pass 2^53: divide as BigInt, keeping microseconds.
    return Number(BigInt(value) / 1000n) / 1000;
  }
  return undefined;
}

/** The string value of attribute `key` in an OTLP KeyValue list. */
function stringAttribute(attributes: unknown, key: string): string | undefined {
  if (!Array.isArray(attributes)) return undefined;
  for (const entry of attributes) {
    if (isObject(entry) && entry.key === key && isObject(entry.value)) {
      const text = entry.value.stringValue;
      return typeof text === "string" ? text : undefined;
    }
  }
  return undefined;
}

/** The message of the span's first recorded exception. */
function exceptionMessage(events: unknown): string | undefined {
  if (!Array.isArray(events)) return undefined;
  for (const event of events) {
    if (isObject(event) && event.name === "exception") {
      const message = stringAttribute(event.attributes, "exception.message");
      if (message !== undefined) return message;
    }
  }
  return undefined;
}

function spanRecord(span: unknown, where: string): SpanRecord | undefined {
  if (!isObject(span)) throw badRequest(`${where} must be an object`);
  const startMs = nanosToMs(span.startTimeUnixNano);
  const endMs = nanosToMs(span.endTimeUnixNano);
  // A span without times cannot be placed in any window; it is left out, not fatal.
  if (startMs === undefined || endMs === undefined) return undefined;
  const status = isObject(span.status) ? span.status : {};
  const error = STATUS_ERROR.has(status.code);
  const statusMessage =
    typeof status.message === "string" && status.message !== "" ? status.message : undefined;
  const record: {
    -readonly [K in keyof SpanRecord]: SpanRecord[K];
  } = { name: typeof span.name === "string" ? span.name : "(unnamed)", startMs, endMs, error };
  const pipeline = stringAttribute(span.attributes, "ehw.pipeline");
  if (pipeline !== undefined) record.pipeline = pipeline;
  const spanId = id(span.spanId);
  if (spanId !== undefined) record.spanId = spanId;
  if (KIND_PRODUCER.has(span.kind)) record.producer = true;
  const related = relatedSpanIds(span);
  if (related.length > 0) record.relatedSpanIds = related;
  if (error) {
    const message = statusMessage ?? exceptionMessage(span.events);
    if (message !== undefined) record.errorMessage = message;
  }
  return record;
}

/** The spans of a parsed request body; throws EhwError (OTLP_BAD_REQUEST) for a wrong shape. */
export function spansOfOtlpJson(body: unknown): SpanRecord[] {
  if (!isObject(body)) throw badRequest("the body must be a JSON object with resourceSpans");
  const spans: SpanRecord[] = [];
  listOf(body.resourceSpans, "resourceSpans").forEach((resource, r) => {
    if (!isObject(resource)) throw badRequest(`resourceSpans[${r}] must be an object`);
    listOf(resource.scopeSpans, `resourceSpans[${r}].scopeSpans`).forEach((scope, s) => {
      if (!isObject(scope)) throw badRequest(`resourceSpans[${r}].scopeSpans[${s}] must be an object`);
      const where = `resourceSpans[${r}].scopeSpans[${s}].spans`;
      listOf(scope.spans, where).forEach((span, i) => {
        const record = spanRecord(span, `${where}[${i}]`);
        if (record !== undefined) spans.push(record);
      });
    });
  });
  return spans;
}
