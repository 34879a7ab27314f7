import { type EventPosition, earliestEventPosition, latestEventPosition } from "@azure/event-hubs";
import { ConfigError } from "../common/errors.js";
import type { RawSetting } from "./settings.js";
import { reject, sourceLabel } from "./values.js";

/** Where a partition without a checkpoint starts reading. */
export type StartPositionSpec =
  | { readonly kind: "earliest" }
  | { readonly kind: "latest" }
  /** Events enqueued at or after this time; epoch milliseconds. */
  | { readonly kind: "enqueuedTime"; readonly enqueuedOnMs: number };

// A time without a zone would be read in the machine's local zone; demand Z or an offset.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Parses `earliest`, `latest` or an ISO-8601 time (date only = midnight UTC; times need Z or an offset). */
export function parseStartPositionText(text: string): StartPositionSpec | undefined {
  if (text === "earliest") return { kind: "earliest" };
  if (text === "latest") return { kind: "latest" };
  if (!ISO_8601.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : { kind: "enqueuedTime", enqueuedOnMs: ms };
}

/** The start position setting (the default for every partition). */
export function compileStartPosition(setting: RawSetting): StartPositionSpec {
  const spec = typeof setting.value === "string" ? parseStartPositionText(setting.value) : undefined;
  if (spec === undefined) {
    return reject(
      "startPosition",
      setting,
      "is not earliest, latest or an ISO-8601 time such as 2024-05-01T12:00:00Z",
    );
  }
  return spec;
}

/** Per-partition overrides; partition ids are decimal numbers as the service names them. */
export function compileStartPositions(
  raw: Record<string, RawSetting> | undefined,
): Readonly<Record<string, StartPositionSpec>> {
  const out: Record<string, StartPositionSpec> = {};
  for (const [partitionId, setting] of Object.entries(raw ?? {})) {
    const label = sourceLabel(setting.source);
    if (!/^[0-9]+$/.test(partitionId)) {
      throw new ConfigError(
        `${label}: ${JSON.stringify(partitionId)} is not a partition id (startPositions: partition id → earliest | latest | ISO-8601 time, e.g. {"0": "latest"} or --start-position 0=latest)`,
        { context: { setting: label } },
      );
    }
    const spec = typeof setting.value === "string" ? parseStartPositionText(setting.value) : undefined;
    if (spec === undefined) {
      throw new ConfigError(
        `${label}: start position ${JSON.stringify(setting.value)} for partition ${partitionId} is not earliest, latest or an ISO-8601 time such as 2024-05-01T12:00:00Z`,
        { context: { setting: label, partitionId } },
      );
    }
    out[partitionId] = spec;
  }
  return out;
}

/** The SDK position of a spec, for `subscribe({ startPosition })`. */
export function toEventPosition(spec: StartPositionSpec): EventPosition {
  switch (spec.kind) {
    case "earliest":
      return earliestEventPosition;
    case "latest":
      return latestEventPosition;
    case "enqueuedTime":
      return { enqueuedOn: new Date(spec.enqueuedOnMs) };
  }
}

/** Text form of a spec, for logs. */
export function describeStartPosition(spec: StartPositionSpec): string {
  return spec.kind === "enqueuedTime" ? new Date(spec.enqueuedOnMs).toISOString() : spec.kind;
}
