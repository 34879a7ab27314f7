/**
 * A consumer group the hub does not have: refused at start-up (exit 2, naming it), and, when it is
 * deleted under a running worker, reported by /readyz.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { freshContainer, freshHub, testStack } from "../../helpers/stack.js";
import { waitFor } from "../../helpers/wait-for.js";
import { runWorkerToEnd, stackWorkerEnv, startWorker, useWorkerTests } from "./support.js";

const NOOP_HANDLER = fileURLToPath(new URL("../../fixtures/handlers/event-only.mjs", import.meta.url));

function env(hubName: string, containerName: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return stackWorkerEnv(hubName, containerName, { EHW_HANDLER: NOOP_HANDLER, ...extra });
}

describe("the consumer group", () => {
  const { workers } = useWorkerTests();

  it("ehw run --consumer-group with an unknown group exits 2 naming the group and the hub", async () => {
    const { hubName } = await freshHub(2, ["known"]);
    const { containerName } = await freshContainer();
    const { code, stderr } = await runWorkerToEnd(["--consumer-group", "nope"], env(hubName, containerName));
    expect(code).toBe(2);
    expect(stderr).toContain('consumer group "nope" does not exist on event hub');
    expect(stderr).toContain(hubName);
    expect(stderr).toContain("EHW_CONSUMER_GROUP");
  });

  it("deleted while the worker runs, turns /readyz to 503 naming it", async () => {
    const { hubName } = await freshHub(2, ["doomed"]);
    const { containerName } = await freshContainer();
    const worker = await startWorker(
      "ehw-run-doomed",
      env(hubName, containerName, {
        EHW_CONSUMER_GROUP: "doomed",
        EHW_METRICS_PORT: "0",
        EHW_STRATEGY: "greedy",
      }),
    );
    workers.push(worker);
    const base = String(worker.logs.find((l) => l.msg === "metrics and health endpoints listening")?.url);
    const ready = async () => {
      const res = await fetch(`${base}/readyz`);
      return { status: res.status, text: await res.text() };
    };
    await waitFor(async () => (await ready()).status === 200, { timeoutMs: 30_000, what: "/readyz 200" });

    const { adminUrl } = testStack().emulator;
    const deleted = await fetch(`${adminUrl}/hubs/${hubName}/consumergroups/doomed`, { method: "DELETE" });
    expect(deleted.status).toBe(200);

    const notReady = await waitFor(
      async () => {
        const answer = await ready();
        return answer.status === 503 ? answer : undefined;
      },
      { timeoutMs: 30_000, what: "/readyz 503 after the group was deleted" },
    );
    expect(notReady.text).toContain("MessagingEntityNotFoundError");
    expect(notReady.text).toContain('consumer group \\"doomed\\"');
    // It stays not ready while the SDK keeps claiming and being refused.
    await waitFor(
      () => worker.logs.filter((l) => JSON.stringify(l).includes("MessagingEntityNotFoundError")).length >= 4,
      { timeoutMs: 30_000, what: "repeated refusals in the log" },
    );
    expect((await ready()).status).toBe(503);
  });
});
