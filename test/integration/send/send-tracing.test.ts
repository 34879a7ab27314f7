/**
 * Whole traces from `ehw send` to the worker: `ehw send --tracing otlp` (a child process,
 * exporting to the dev stack's loopback OTLP receiver) gives every event its batch span's context
 * as `traceparent` and `Diagnostic-Id`; a worker with tracing on (the real SDK, an in-memory
 * exporter) links each attempt span to that span.
 */
import { fileURLToPath } from "node:url";
import { EventHubConsumerClient, earliestEventPosition, type ReceivedEventData } from "@azure/event-hubs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { createWorker } from "../../../src/app/worker-app.js";
import { compileWorkerConfig } from "../../../src/config/worker.js";
import { startTraceReceiver } from "../../../src/dev/trace-receiver.js";
import type { SpanRecord } from "../../../src/dev/trace-summary.js";
import { ehwCommand } from "../../../src/local/cli-command.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { createAttemptTracer } from "../../../src/observability/tracing.js";
import { runToExit } from "../../helpers/run-to-exit.js";
import { freshContainer, freshHub, testStack } from "../../helpers/stack.js";
import { startTestTracing } from "../../helpers/tracing.js";
import { waitFor } from "../../helpers/wait-for.js";
import { flagOptions } from "../worker/support.js";

const TRACED = fileURLToPath(new URL("../../fixtures/handlers/traced.mjs", import.meta.url));
const COUNT = 6;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The properties of the first `count` events of partition 0, read with a plain consumer. */
async function propertiesOf(connectionString: string, hubName: string, count: number) {
  const client = new EventHubConsumerClient("$Default", connectionString, hubName);
  const received: ReceivedEventData[] = [];
  const subscription = client.subscribe(
    "0",
    { processEvents: async (events) => void received.push(...events), processError: async () => {} },
    { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
  );
  try {
    await waitFor(() => received.length >= count, { timeoutMs: 30_000, what: `${count} events` });
  } finally {
    await subscription.close();
    await client.close();
  }
  return received.map((e) => e.properties ?? {});
}

describe("ehw send --tracing otlp", () => {
  it("sends the producer span's context, and the worker's attempt spans link to it", async () => {
    const { hubName, connectionString } = await freshHub(1);
    const { containerName } = await freshContainer("sendtrace");
    const exported: SpanRecord[] = [];
    const receiver = await startTraceReceiver({ onSpans: (spans) => exported.push(...spans) });
    cleanups.push(() => receiver.close());

    const { command, args } = ehwCommand([
      "send",
      "--hub",
      hubName,
      "--count",
      String(COUNT),
      "--partition",
      "0",
      "--tracing",
      "otlp",
      "--json",
    ]);
    let pid: number | undefined;
    cleanups.push(async () => {
      // Only while it still runs: the test timed out with the sender alive.
      if (pid !== undefined) process.kill(pid, "SIGKILL");
    });
    const env = {
      ...process.env,
      EHW_EVENTHUB_CONNECTION_STRING: connectionString,
      EHW_EVENTHUB_NAME: "",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl,
      OTEL_BSP_SCHEDULE_DELAY: "100",
    };
    const run = await runToExit(command, args, env, (p) => {
      pid = p;
    });
    pid = undefined;
    expect(run.status, run.stderr).toBe(0);
    // The sender exported its batch span before it exited.
    expect(exported.filter((s) => s.name === `${hubName} send`)).toHaveLength(1);

    const properties = await propertiesOf(connectionString, hubName, COUNT);
    const traceparents = new Set(properties.map((p) => p.traceparent));
    expect(traceparents.size).toBe(1);
    const traceparent = String([...traceparents][0]);
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(properties.every((p) => p["Diagnostic-Id"] === traceparent)).toBe(true);
    const [, traceId, spanId] = traceparent.split("-");

    const { sdk, exporter } = await startTestTracing();
    cleanups.push(() => sdk.shutdown());
    const config = compileWorkerConfig(
      flagOptions({
        eventHubConnectionString: connectionString,
        eventHubName: hubName,
        storageConnectionString: testStack().azurite.connectionString,
        containerName,
        handler: TRACED,
        strategy: "greedy",
        maxWaitTimeMs: "200",
        metricsPort: "off",
      }),
      { baseDir: process.cwd() },
    );
    const worker = createWorker(config, {
      logger: silentLogger(),
      tracer: createAttemptTracer({ tracer: sdk.tracer }),
    });
    cleanups.push(() => worker.stop({ deadlineMs: 2000 }));
    await worker.start();

    const attemptSpans = (): ReadableSpan[] =>
      exporter.getFinishedSpans().filter((s) => s.name === "default process");
    await waitFor(() => attemptSpans().length >= COUNT, {
      timeoutMs: 30_000,
      what: `${COUNT} attempt spans`,
    });
    for (const span of attemptSpans()) {
      expect(span.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[traceId, spanId]]);
    }
  });
});
