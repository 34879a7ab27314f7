import { latestEventPosition } from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../helpers/wait-for.js";
import { useTestEmulator } from "./harness.js";

describe("emulator admin: deleting a consumer group", () => {
  const test = useTestEmulator();

  const remove = (hub: string, group: string) =>
    test.admin("DELETE", `/hubs/${encodeURIComponent(hub)}/consumergroups/${encodeURIComponent(group)}`);

  /** Codes the SDK reports for a reader of partition 0 with `group`, and whether it received a batch. */
  function read(hub: string, group: string): { codes: string[]; batches: number } {
    const state = { codes: [] as string[], batches: 0 };
    const consumer = test.consumer(hub, group);
    test.closer.add(
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
    const hub = test.hub(2, ["g1", "g2"]);
    const doomed = read(hub, "g1");
    const other = read(hub, "g2");
    await waitFor(() => doomed.batches > 0 && other.batches > 0, { what: "both readers attached" });

    const deleted = await remove(hub, "G1");
    expect(deleted.status).toBe(200);
    expect(test.emulator.hubs().find((h) => h.name === hub)?.consumerGroups).toEqual(["$Default", "g2"]);
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
    const hub = test.hub(1);
    expect((await remove(hub, "nope")).status).toBe(404);
    expect((await remove("no-such-hub", "g1")).status).toBe(404);
    const kept = await remove(hub, "$Default");
    expect(kept.status).toBe(400);
    expect(JSON.stringify(kept.json)).toContain("$Default");
  });
});
