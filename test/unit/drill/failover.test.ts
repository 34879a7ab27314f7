import { describe, expect, it } from "vitest";
import { computeFailovers, spread, summarizeFailovers } from "../../../src/drill/failover.js";
import type { FaultRecord } from "../../../src/drill/types.js";
import { cleanObservations, kill, ledger, owners, span, term } from "./fixtures.js";

describe("spread", () => {
  it("gives median and max, the median of an even count being the mean of the middle two", () => {
    expect(spread([])).toEqual({ count: 0, medianMs: undefined, maxMs: undefined });
    expect(spread([300, 100, 200])).toEqual({ count: 3, medianMs: 200, maxMs: 300 });
    expect(spread([400, 100])).toEqual({ count: 2, medianMs: 250, maxMs: 400 });
  });
});

describe("computeFailovers", () => {
  it("times ownership and resumption of the victim's partitions; a finished partition is idle", () => {
    const obs = cleanObservations();
    const [failover] = computeFailovers(obs.faults, obs.ownerships, obs.ledgers, obs.lastSequenceNumbers);
    expect(failover?.partitions).toEqual([
      { partitionId: "0", ownedAgainMs: 11_500, newOwner: "w2", resumedMs: undefined, idle: true },
      { partitionId: "1", ownedAgainMs: 11_500, newOwner: "w2", resumedMs: 12_000, idle: false },
    ]);
    expect(failover).toMatchObject({ ownedAgainMs: 11_500, resumedMs: 12_000, kind: "kill" });
  });

  it("ignores the victim's own processing after the fault (a draining SIGTERM)", () => {
    const obs = cleanObservations();
    const faults = [term(0, 1500, "w1", ["1"])];
    const ownerships = [owners(1000, { "1": "w1" }), owners(3000, { "1": "" }), owners(3500, { "1": "w2" })];
    const ledgers = [
      ledger("w1", span("1", 0, 99, "w1", 1000)),
      ledger("w2", span("1", 100, 199, "w2", 4000)),
    ];
    const [failover] = computeFailovers(faults, ownerships, ledgers, obs.lastSequenceNumbers);
    expect(failover?.partitions[0]).toMatchObject({ ownedAgainMs: 2000, resumedMs: 2500, newOwner: "w2" });
  });

  it("leaves a partition that was never owned again undefined, and so the fault's time", () => {
    const obs = cleanObservations();
    const [failover] = computeFailovers(
      obs.faults,
      obs.ownerships.slice(0, 1),
      obs.ledgers,
      obs.lastSequenceNumbers,
    );
    expect(failover?.ownedAgainMs).toBeUndefined();
  });

  it("times a hub restart from when the hub was back, for every partition; skips add", () => {
    const obs = cleanObservations();
    const faults: FaultRecord[] = [
      { index: 0, kind: "add", atMs: 500, doneAtMs: 900, started: "w3" },
      { index: 1, kind: "restart-hub", atMs: 1200, doneAtMs: 1400 },
    ];
    const failovers = computeFailovers(
      faults,
      [owners(1500, { "0": "w1", "1": "w1" })],
      obs.ledgers,
      obs.lastSequenceNumbers,
    );
    expect(failovers.map((f) => f.kind)).toEqual(["restart-hub"]);
    // Entries are 10 ms apart from t=1000, so the first after 1400 is at 1410: 210 ms after the fault.
    expect(failovers[0]?.partitions.map((p) => p.resumedMs)).toEqual([210, 210]);
  });

  it("summarizes per kind", () => {
    const obs = cleanObservations();
    const faults = [kill(0, 3000, "w1", ["1"]), kill(1, 3000, "w1", ["1"])];
    const summary = summarizeFailovers(
      computeFailovers(faults, obs.ownerships, obs.ledgers, obs.lastSequenceNumbers),
    );
    expect(summary.kill).toEqual({
      faults: 2,
      ownedAgain: { count: 2, medianMs: 11_500, maxMs: 11_500 },
      resumed: { count: 2, medianMs: 12_000, maxMs: 12_000 },
    });
  });
});
