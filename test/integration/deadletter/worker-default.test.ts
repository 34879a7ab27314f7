/**
 * The failure handling the composition root (createWorker) builds from the config alone: pipelines dead-letter by
 * default into `<containerName>-deadletter`, and a pipeline's input checks apply.
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createWorker } from "../../../src/app/worker-app.js";
import { compileWorkerConfig, type RawWorkerOptions } from "../../../src/config/worker.js";
import { silentLogger } from "../../../src/observability/logger.js";
import type { Worker } from "../../../src/worker/worker.js";
import { freshContainer, freshHub, testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { flagOptions } from "../worker/support.js";
import { checkpointOf, documentsIn, QUICK_TIMING, sendToPartition0 } from "./support.js";

const FAILING = fileURLToPath(new URL("../../fixtures/deadletter/failing.mjs", import.meta.url));
const workers: Worker[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop({ deadlineMs: 2000 });
});

/** Quick timing as in the other dead-letter tests, the handler section from a config file, no injected parts. */
function config(hubName: string, containerName: string, extra: Record<string, string> = {}) {
  const { emulator, azurite } = testStack();
  const raw: RawWorkerOptions = {
    ...flagOptions({
      eventHubConnectionString: emulator.connectionString,
      eventHubName: hubName,
      storageConnectionString: azurite.connectionString,
      containerName,
      ...QUICK_TIMING,
      ...extra,
    }),
    handlerSections: {
      value: {
        handlers: { failing: { module: FAILING } },
        pipelines: {
          default: ["failing"],
          small: { handlers: ["failing"], maxEventBytes: 32 },
        },
        routes: { property: "route", map: { small: "small" } },
      },
      source: { kind: "file", name: "handlers", path: FAILING },
    },
  };
  return compileWorkerConfig(raw, { baseDir: process.cwd() });
}

describe("Worker failure handling from config", () => {
  it("dead-letters into <containerName>-deadletter by default and applies maxEventBytes", async () => {
    const { hubName } = await freshHub(1);
    const { containerName, containerClient } = await freshContainer();
    const worker = createWorker(config(hubName, containerName), { logger: silentLogger() });
    workers.push(worker);
    await worker.start();
    await sendToPartition0(hubName, [
      { body: { n: 0 } },
      { body: { n: 1 }, properties: { fail: true } },
      { body: { n: 2, pad: "x".repeat(64) }, properties: { route: "small" } },
      { body: { n: 3 } },
    ]);
    await waitFor(async () => (await checkpointOf(containerClient, hubName))?.sequenceNumber === 3, {
      timeoutMs: 30_000,
      what: "a checkpoint at 3",
    });
    const docs = (await documentsIn(`${containerName}-deadletter`)).map((d) => d.doc);
    expect(docs.map((d) => [d.sequenceNumber, d.pipeline, d.attempts])).toEqual([
      [1, "default", 2],
      [2, "small", 1],
    ]);
    expect(docs[1]?.error.name).toBe("PoisonEventError");
    expect(worker.status().partitions[0]?.state).toBe("running");
  });

  it("uses the configured dead-letter container", async () => {
    const { hubName } = await freshHub(1);
    const { containerName, containerClient } = await freshContainer();
    const deadLetterContainer = `${containerName}-dl2`;
    const worker = createWorker(config(hubName, containerName, { deadLetterContainer }), {
      logger: silentLogger(),
    });
    workers.push(worker);
    await worker.start();
    await sendToPartition0(hubName, [{ body: { n: 0 }, properties: { fail: true } }, { body: { n: 1 } }]);
    await waitFor(async () => (await checkpointOf(containerClient, hubName))?.sequenceNumber === 1, {
      timeoutMs: 30_000,
      what: "a checkpoint at 1",
    });
    expect((await documentsIn(deadLetterContainer)).map((d) => d.doc.sequenceNumber)).toEqual([0]);
  });
});
