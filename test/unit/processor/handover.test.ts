import type { PartitionOwnership } from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { claimVia, type HandoverHooks, HandoverProtocol } from "../../../src/checkpoint/handover.js";
import { requestToWaitOn } from "../../../src/checkpoint/handover-asker.js";
import type {
  HandoverRequest,
  HandoverRequests,
  HandoverScope,
} from "../../../src/checkpoint/handover-blobs.js";

const SCOPE: HandoverScope = {
  fullyQualifiedNamespace: "ns",
  eventHubName: "hub",
  consumerGroup: "$default",
};
const EXPIRY = 10_000;
const TIMEOUT = 5000;

/** Requests kept in a map, with the same conditional rules as the blobs. */
class MemoryRequests implements HandoverRequests {
  readonly blobs = new Map<string, HandoverRequest>();
  private etags = 0;
  async list(): Promise<HandoverRequest[]> {
    return [...this.blobs.values()];
  }
  async create(_scope: HandoverScope, request: Omit<HandoverRequest, "etag" | "acceptedAtMs">) {
    if (this.blobs.has(request.partitionId)) return undefined;
    const etag = `e${++this.etags}`;
    this.blobs.set(request.partitionId, { ...request, acceptedAtMs: undefined, etag });
    return etag;
  }
  async accept(_scope: HandoverScope, request: HandoverRequest, atMs: number) {
    const stored = this.blobs.get(request.partitionId);
    if (stored?.etag !== request.etag) return false;
    this.blobs.set(request.partitionId, { ...stored, acceptedAtMs: atMs, etag: `e${++this.etags}` });
    return true;
  }
  async delete(_scope: HandoverScope, partitionId: string, etag: string | undefined) {
    const stored = this.blobs.get(partitionId);
    if (stored === undefined || (etag !== undefined && stored.etag !== etag)) return false;
    this.blobs.delete(partitionId);
    return true;
  }
}

function ownership(partitionId: string, ownerId: string, lastModifiedTimeInMs: number): PartitionOwnership {
  return {
    fullyQualifiedNamespace: "ns",
    eventHubName: "hub",
    consumerGroup: "$default",
    partitionId,
    ownerId,
    lastModifiedTimeInMs,
    etag: `o-${partitionId}-${ownerId}`,
  };
}

function claim(partitionId: string, ownerId: string): PartitionOwnership {
  return { ...ownership(partitionId, ownerId, 0), lastModifiedTimeInMs: undefined };
}

function setup(ownerId: string) {
  let now = 100_000;
  const requests = new MemoryRequests();
  const events: string[] = [];
  const held = new Set<string>();
  const hooks: HandoverHooks = {
    mayHandOver: (p) => held.has(p),
    drain: async (p) => {
      events.push(`drain ${p}`);
      return { drained: true, checkpoint: 41 };
    },
    handedOver: (e) => events.push(`handedOver ${e.partitionId} to ${e.to} released=${e.released}`),
    requested: (p, to) => events.push(`requested ${p} from ${to}`),
    completed: (p, from, pauseMs) => events.push(`completed ${p} from ${from} pause=${pauseMs}`),
    fellBack: (p, owner) => events.push(`fellBack ${p} owner=${owner}`),
  };
  const protocol = new HandoverProtocol({
    ownerId,
    requests,
    hooks,
    ownershipExpirationMs: EXPIRY,
    drainTimeoutMs: 1000,
    timeoutMs: TIMEOUT,
    clock: () => now,
  });
  protocol.attach({
    owns: (p) => held.has(p),
    relinquish: async (p) => {
      events.push(`relinquish ${p}`);
      return held.delete(p);
    },
  });
  const advance = (ms: number) => {
    now += ms;
  };
  return { protocol, requests, events, held, advance, now: () => now };
}

describe("claimVia", () => {
  it("tells every way a claim gets its partition", () => {
    const now = 50_000;
    expect(claimVia(undefined, "me", now, EXPIRY, false)).toBe("new");
    expect(claimVia(ownership("0", "me", now), "me", now, EXPIRY, false)).toBe("own");
    expect(claimVia(ownership("0", "", now), "me", now, EXPIRY, false)).toBe("released");
    expect(claimVia(ownership("0", "", now), "me", now, EXPIRY, true)).toBe("handover");
    expect(claimVia(ownership("0", "a", now - EXPIRY), "me", now, EXPIRY, true)).toBe("expired");
    expect(claimVia(ownership("0", "a", now - EXPIRY + 1), "me", now, EXPIRY, true)).toBe("steal");
  });
});

describe("requestToWaitOn", () => {
  const asked = new Map([
    ["1", { partitionId: "1", to: "a", askedAtMs: 0 }],
    ["2", { partitionId: "2", to: "b", askedAtMs: 0 }],
  ]);
  const owners: Record<string, string> = { "0": "a", "1": "a", "2": "b", "3": "a" };
  const ownerOf = (p: string) => owners[p];

  it("waits on the request for the partition, else on another one to the same owner", () => {
    expect(requestToWaitOn("1", "a", asked, new Set(), ownerOf)?.partitionId).toBe("1");
    expect(requestToWaitOn("0", "a", asked, new Set(), ownerOf)?.partitionId).toBe("1");
  });

  it("asks anew when every request to that owner is waited on this loop, or none exists", () => {
    expect(requestToWaitOn("3", "a", asked, new Set(["1"]), ownerOf)).toBeUndefined();
    expect(requestToWaitOn("0", "c", asked, new Set(), ownerOf)).toBeUndefined();
  });
});

describe("HandoverProtocol, asking", () => {
  it("asks a live owner instead of claiming, waits, and steals once the bound passed", async () => {
    const { protocol, requests, events, advance, now } = setup("me");
    await protocol.listed(SCOPE, [ownership("0", "a", now()), ownership("1", "a", now())]);
    expect(await protocol.screen([claim("0", "me")])).toEqual([]);
    expect(requests.blobs.get("0")).toMatchObject({ from: "me", to: "a" });
    // The balancer picks at random: a claim of another partition of the same owner waits too.
    advance(1000);
    await protocol.listed(SCOPE, [ownership("0", "a", now()), ownership("1", "a", now())]);
    expect(await protocol.screen([claim("1", "me")])).toEqual([]);
    expect([...requests.blobs.keys()]).toEqual(["0"]);
    expect(events).toEqual(["requested 0 from a"]);

    advance(TIMEOUT);
    await protocol.listed(SCOPE, [ownership("0", "a", now()), ownership("1", "a", now())]);
    // A steal that loses its ETag race gives nothing up: the next loop steals again at once.
    const lost = await protocol.screen([claim("0", "me")]);
    expect(lost.map((c) => c.partitionId)).toEqual(["0"]);
    protocol.claimed(lost, []);
    expect(events).toEqual(["requested 0 from a"]);
    await protocol.listed(SCOPE, [ownership("0", "a", now()), ownership("1", "a", now())]);
    const passed = await protocol.screen([claim("1", "me")]);
    expect(passed.map((c) => c.partitionId)).toEqual(["1"]);
    protocol.claimed(passed, [{ ...claim("1", "me"), etag: "new" }]);
    expect(protocol.claimedVia("1")).toBe("steal");
    expect(events).toContain("fellBack 1 owner=a");
    await Promise.resolve();
    expect(requests.blobs.size).toBe(0);

    // An owner that let a request time out is not asked again for a while: stolen from at once.
    advance(1000);
    await protocol.listed(SCOPE, [ownership("0", "a", now()), ownership("1", "me", now())]);
    const next = await protocol.screen([claim("0", "me")]);
    expect(next.map((c) => c.partitionId)).toEqual(["0"]);
    protocol.claimed(next, [{ ...claim("0", "me"), etag: "new" }]);
    expect(requests.blobs.size).toBe(0);
    expect(events.at(-1)).toBe("fellBack 0 owner=a");
    // After five bounds it is asked again.
    advance(5 * TIMEOUT);
    await protocol.listed(SCOPE, [ownership("2", "a", now())]);
    expect(await protocol.screen([claim("2", "me")])).toEqual([]);
    expect(requests.blobs.get("2")).toMatchObject({ to: "a" });
  });

  it("claims a partition its owner released in answer, and reports the pause since the owner accepted", async () => {
    const { protocol, requests, events, advance, now } = setup("me");
    await protocol.listed(SCOPE, [ownership("0", "a", now())]);
    await protocol.screen([claim("0", "me")]);
    const request = requests.blobs.get("0") as HandoverRequest;
    await requests.accept(SCOPE, request, now() + 500);
    advance(1500);
    await protocol.listed(SCOPE, [ownership("0", "", now() - 200)]);
    const passed = await protocol.screen([claim("0", "me")]);
    expect(passed).toHaveLength(1);
    protocol.claimed(passed, [{ ...claim("0", "me"), etag: "new" }]);
    expect(protocol.claimedVia("0")).toBe("handover");
    expect(events).toContain("completed 0 from a pause=1000");
    await Promise.resolve();
    expect(requests.blobs.size).toBe(0);
  });

  it("passes claims of free, expired and own partitions at once", async () => {
    const { protocol, requests, now } = setup("me");
    const list = [
      ownership("1", "", now()),
      ownership("2", "a", now() - EXPIRY),
      ownership("3", "me", now()),
    ];
    await protocol.listed(SCOPE, list);
    const claims = ["0", "1", "2", "3"].map((p) => claim(p, "me"));
    expect(await protocol.screen(claims)).toEqual(claims);
    expect(requests.blobs.size).toBe(0);
  });
});

describe("HandoverProtocol, owning", () => {
  it("drains, gives up and then refuses its own claims of the partition for the cooldown", async () => {
    const { protocol, requests, events, held, advance, now } = setup("a");
    held.add("0");
    await requests.create(SCOPE, { partitionId: "0", from: "b", to: "a", requestedAtMs: now() });
    await protocol.listed(SCOPE, [ownership("0", "a", now())]);
    await protocol.settled();
    expect(events).toEqual(["drain 0", "relinquish 0", "handedOver 0 to b released=true"]);
    expect(requests.blobs.get("0")?.acceptedAtMs).toBe(now());

    // Its own balancer sees the partition free: it must not take it back (flapping).
    await protocol.listed(SCOPE, [ownership("0", "", now())]);
    expect(await protocol.screen([claim("0", "a")])).toEqual([]);
    advance(TIMEOUT);
    await protocol.listed(SCOPE, [ownership("0", "", now())]);
    expect(await protocol.screen([claim("0", "a")])).toHaveLength(1);
  });

  it("ignores requests to others, for partitions it does not hold, answered or stale; deletes the stalest", async () => {
    const { protocol, requests, events, held, now } = setup("a");
    held.add("1");
    held.add("2");
    held.add("3");
    await requests.create(SCOPE, { partitionId: "0", from: "b", to: "a", requestedAtMs: now() });
    await requests.create(SCOPE, { partitionId: "1", from: "b", to: "c", requestedAtMs: now() });
    await requests.create(SCOPE, {
      partitionId: "2",
      from: "b",
      to: "a",
      requestedAtMs: now() - TIMEOUT - 1,
    });
    await requests.create(SCOPE, {
      partitionId: "3",
      from: "b",
      to: "a",
      requestedAtMs: now() - 2 * TIMEOUT - 1,
    });
    await protocol.listed(SCOPE, []);
    await protocol.settled();
    expect(events).toEqual([]);
    await Promise.resolve();
    expect([...requests.blobs.keys()].sort()).toEqual(["0", "1", "2"]);
  });
});
