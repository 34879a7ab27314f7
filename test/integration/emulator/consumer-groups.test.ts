import { EventHubConsumerClient, latestEventPosition } from "@azure/event-hubs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorServer } from "../../../src/emulator/index.js";
import { waitFor } from "../../helpers/wait-for.js";
import { Closer, FAST_RETRY, freshHub, startTestEmulator } from "./harness.js";

describe("emulator admin: deleting a consumer group", () => {
  let emulator: EmulatorServer;
  let admin: string;
  const closer = new Closer();

  beforeAll(async () => {
    emulator = await startTestEmulator();
    admin = `http://127.0.0.1:${emulator.adminPort}`;
  });
  afterEach(() => closer.closeAll());
  afterAll(() => emulator.close());

  async function remove(hub: string, group: string): Promise<{ status: number; json: unknown }> {
    const res = await fetch(
      `${admin}/hubs/${encodeURIComponent(hub)}/consumergroups/${encodeURIComponent(group)}`,
      {
        method: "DELETE",
      },
    );
    return { status: res.status, json: await res.json() };
  }

  /** Codes the SDK reports for a reader of partition 0 with `group`, and whether it received a batch. */
  function read(hub: string, group: string): { codes: string[]; batches: number } {
    const state = { codes: [] as string[], batches: 0 };
    const consumer = closer.add(
      new EventHubConsumerClient(group, emulator.connectionString(), hub, { retryOptions: FAST_RETRY }),
    );
    closer.add(
      consumer.subscribe(
        "0",
        {
          processEvents: async () => {
            state.batches += 1;
          },
          processError: async (err) => {
            state.codes.push((err as { code?: string }).code ?? err.name);
          },
        },
        { startPosition: latestEventPosition, maxWaitTimeInSeconds: 1 },
      ),
    );
    return state;
  }

  it("detaches the group's readers with not-found and refuses new ones", async () => {
    const hub = freshHub(emulator, 2, ["g1", "g2"]);
    const doomed = read(hub, "g1");
    const other = read(hub, "g2");
    await waitFor(() => doomed.batches > 0 && other.batches > 0, { what: "both readers attached" });

    const deleted = await remove(hub, "G1");
    expect(deleted.status).toBe(200);
    expect(emulator.hubs().find((h) => h.name === hub)?.consumerGroups).toEqual(["$Default", "g2"]);
    await waitFor(() => doomed.codes.includes("MessagingEntityNotFoundError"), {
      what: "the reader of the deleted group detached with not-found",
    });
    const again = read(hub, "g1");
    await waitFor(() => again.codes.includes("MessagingEntityNotFoundError"), {
      what: "a new reader of the deleted group refused",
    });
    expect(again.batches).toBe(0);
    expect(other.codes).toEqual([]);
  });

  it("answers 404 for an unknown group or hub and 400 for $Default", async () => {
    const hub = freshHub(emulator, 1);
    expect((await remove(hub, "nope")).status).toBe(404);
    expect((await remove("no-such-hub", "g1")).status).toBe(404);
    const kept = await remove(hub, "$Default");
    expect(kept.status).toBe(400);
    expect(JSON.stringify(kept.json)).toContain("$Default");
  });
});
