import { request } from "node:http";
import { EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../helpers/wait-for.js";
import { FAST_RETRY, startTestEmulator, useTestEmulator } from "./harness.js";

/** Status of a GET sent with a chosen Host header (fetch does not let a caller set Host). */
function rawStatus(path: string, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once("error", reject);
    req.end();
  });
}

/** The non-aggregate errors inside `err` (the SDK aggregates retried attempts). */
function leafErrors(err: unknown): Array<{ code?: string; message: string }> {
  if (err instanceof AggregateError) return err.errors.flatMap(leafErrors);
  if (err instanceof Error) return [err as Error & { code?: string }];
  return [];
}

describe("emulator admin endpoint and fault injection", () => {
  const test = useTestEmulator();
  const { closer } = test;
  const call = test.admin;
  afterEach(() => {
    test.emulator.setLatencyMs(0);
  });

  /** A consumer reading partition 0 of `hub` from the start, with fast retries. */
  function consume(hub: string): { bodies: number[]; errors: string[] } {
    const state = { bodies: [] as number[], errors: [] as string[] };
    const consumer = test.consumer(hub);
    closer.add(
      consumer.subscribe(
        "0",
        {
          processEvents: async (events) => {
            for (const e of events) state.bodies.push(e.body as number);
          },
          processError: async (err) => {
            state.errors.push((err as { code?: string }).code ?? err.name);
          },
        },
        { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
      ),
    );
    return state;
  }

  it("reports health and hubs, and creates hubs idempotently (409 for another shape)", async () => {
    const health = await call("GET", "/health");
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: "ok" });
    const name = `admin-${Date.now().toString(36)}`;
    expect((await call("PUT", `/hubs/${name}`, { partitionCount: 3, consumerGroups: ["a"] })).status).toBe(
      201,
    );
    expect((await call("PUT", `/hubs/${name}`, { partitionCount: 3, consumerGroups: ["a"] })).status).toBe(
      200,
    );
    expect((await call("PUT", `/hubs/${name}`, { partitionCount: 2 })).status).toBe(409);
    const bad = await call("PUT", `/hubs/${name}-x`, { partitionCount: 0 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain("partitionCount");
    const hubs = (await call("GET", "/hubs")).json as {
      hubs: Array<{ name: string; partitionCount: number; consumerGroups: string[] }>;
    };
    expect(hubs.hubs.find((h) => h.name === name)).toEqual({
      name,
      partitionCount: 3,
      consumerGroups: ["$Default", "a"],
    });
    const producer = test.producer(name);
    expect((await producer.getEventHubProperties()).partitionIds).toEqual(["0", "1", "2"]);
  });

  it("detaches readers with a retriable condition; the SDK reconnects and goes on", async () => {
    const hub = test.hub(1);
    const producer = test.producer(hub);
    await producer.sendBatch([{ body: 0 }, { body: 1 }], { partitionId: "0" });
    const state = consume(hub);
    await waitFor(() => state.bodies.length >= 2, { what: "the first events" });
    const res = await call("POST", "/faults/detach", { hub, partitionId: "0" });
    expect(res.json).toEqual({ detached: 1 });
    await producer.sendBatch([{ body: 2 }], { partitionId: "0" });
    await waitFor(() => state.bodies.length >= 3, { what: "the event after the detach" });
    // Resumed after the last received event: nothing lost, nothing repeated.
    expect(state.bodies).toEqual([0, 1, 2]);
    expect(state.errors.every((code) => code === "DetachForcedError")).toBe(true);
  });

  it("drops every connection; producer and consumer reconnect", async () => {
    const hub = test.hub(1);
    const producer = test.producer(hub);
    await producer.sendBatch([{ body: 0 }], { partitionId: "0" });
    const state = consume(hub);
    await waitFor(() => state.bodies.length >= 1, { what: "the first event" });
    const before = test.emulator.connectionCount();
    expect(before).toBeGreaterThan(0);
    const res = await call("POST", "/faults/drop-connections");
    expect((res.json as { dropped: number }).dropped).toBeGreaterThanOrEqual(before);
    await producer.sendBatch([{ body: 1 }], { partitionId: "0" });
    await waitFor(() => state.bodies.length >= 2, { timeoutMs: 20_000, what: "the event after the drop" });
    expect(state.bodies).toEqual([0, 1]);
  });

  it("delays replies by the injected latency, and 0 clears it", async () => {
    const hub = test.hub(1);
    const producer = test.producer(hub);
    await producer.getEventHubProperties();
    expect((await call("PUT", "/faults/latency", { ms: 400 })).status).toBe(200);
    const started = Date.now();
    await producer.getPartitionProperties("0");
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect((await call("PUT", "/faults/latency", { ms: -1 })).status).toBe(400);
    await call("PUT", "/faults/latency", { ms: 0 });
    const again = Date.now();
    await producer.getPartitionProperties("0");
    expect(Date.now() - again).toBeLessThan(380);
  });

  it("refuses what a web page could send: a body that is not JSON, a foreign Origin or Host", async () => {
    const before = test.emulator.connectionCount();
    const plain = await fetch(`${test.adminUrl}/faults/drop-connections`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    expect(plain.status).toBe(415);
    const bare = await fetch(`${test.adminUrl}/faults/drop-connections`, { method: "POST" });
    expect(bare.status).toBe(415);
    const foreign = await fetch(`${test.adminUrl}/faults/drop-connections`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://evil.example" },
    });
    expect(foreign.status).toBe(403);
    const rebound = await rawStatus("/hubs", "evil.example:5380", test.emulator.adminPort);
    expect(rebound).toBe(403);
    expect(await rawStatus("/hubs", `localhost:${test.emulator.adminPort}`, test.emulator.adminPort)).toBe(
      200,
    );
    expect(test.emulator.connectionCount()).toBe(before);
  });

  it("requires the admin token when one is set, except for GET /health", async () => {
    const guarded = await startTestEmulator({ adminToken: "s3cret" });
    try {
      const url = `http://127.0.0.1:${guarded.adminPort}`;
      const json = { "content-type": "application/json" };
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await fetch(`${url}/hubs`)).status).toBe(401);
      expect((await fetch(`${url}/hubs`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
      const ok = await fetch(`${url}/faults/drop-connections`, {
        method: "POST",
        headers: { ...json, authorization: "Bearer s3cret" },
      });
      expect(ok.status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it("refuses to put the admin endpoint off loopback without a token", async () => {
    await expect(startTestEmulator({ adminHost: "0.0.0.0" })).rejects.toThrow(/--admin-token/);
  });

  it("answers unknown routes with 404", async () => {
    expect((await call("GET", "/nope")).status).toBe(404);
  });

  it("refuses a wrong SharedAccessKey with the SDK's UnauthorizedError", async () => {
    const hub = test.hub(1);
    const wrong = test.emulator
      .connectionString()
      .replace(/SharedAccessKey=[^;]+/, "SharedAccessKey=not-the-key");
    const producer = closer.add(
      new EventHubProducerClient(wrong, hub, { retryOptions: { ...FAST_RETRY, maxRetries: 1 } }),
    );
    const err = await producer.getEventHubProperties().then(
      () => undefined,
      (e: unknown) => e,
    );
    // UnauthorizedError is retriable in core-amqp, so the SDK reports every attempt together.
    const leaves = leafErrors(err);
    expect(leaves.length).toBeGreaterThan(0);
    for (const leaf of leaves) {
      expect(leaf.code).toBe("UnauthorizedError");
      // The wire names no reason (which part of a token failed is for the emulator's log only).
      expect(leaf.message).toBe("Unauthorized");
    }
    const sendError = await producer.sendBatch([{ body: 1 }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(leafErrors(sendError).map((e) => e.code)).toContain("UnauthorizedError");
  });
});
