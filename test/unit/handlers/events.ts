import type { ReceivedEventData } from "@azure/event-hubs";
import type { PipelineRunContext } from "../../../src/handlers/pipeline.js";
import { silentLogger } from "../../../src/observability/logger.js";

/** A received event as the SDK would hand it over, for handler tests. */
export function fakeEvent(
  sequenceNumber: number,
  overrides: Partial<ReceivedEventData> = {},
): ReceivedEventData {
  return {
    body: { n: sequenceNumber },
    properties: { id: `e-${sequenceNumber}` },
    enqueuedTimeUtc: new Date(1_700_000_000_000 + sequenceNumber),
    partitionKey: null,
    offset: String(sequenceNumber * 100),
    sequenceNumber,
    getRawAmqpMessage: () => {
      throw new Error("not available in tests");
    },
    ...overrides,
  };
}

/** A run context for partition "0" with a silent logger and a live signal. */
export function runContext(overrides: Partial<PipelineRunContext> = {}): PipelineRunContext {
  return {
    partitionId: "0",
    eventHubName: "hub",
    consumerGroup: "$Default",
    attempt: 1,
    logger: silentLogger(),
    signal: new AbortController().signal,
    ...overrides,
  };
}
