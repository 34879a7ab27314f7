import { describe, expect, it } from "vitest";
import { duplicateBound } from "../../../src/drill/bound.js";
import { computeVerdict } from "../../../src/drill/verdict.js";
import { ckpt, cleanObservations, entry, kill, ledger, sentFor, span, term } from "./fixtures.js";

const failedNames = (obs: Parameters<typeof computeVerdict>[0]) =>
  computeVerdict(obs).failures.map((f) => f.name);

describe("computeVerdict", () => {
  it("passes a clean run with a crash whose duplicates are within the bound", () => {
    const verdict = computeVerdict(cleanObservations());
    expect(verdict.failures).toEqual([]);
    expect(verdict.passed).toBe(true);
    expect(verdict.duplicates.total).toBe(10);
    expect(verdict.duplicates.byCause).toEqual({ "kill@0": 10 });
    expect(verdict.duplicates.handovers).toHaveLength(1);
    expect(verdict.duplicates.handovers[0]).toMatchObject({
      cause: "kill",
      fromWorker: "w1",
      toWorker: "w2",
      bound: 25,
    });
    expect(verdict.distinctProcessed).toBe(400);
    expect(verdict.processed).toBe(410);
  });

  it("names a lost id", () => {
    const base = cleanObservations();
    const w2 = base.ledgers[1];
    const entries = w2?.entries.filter((e) => e.s !== 150) ?? [];
    const verdict = computeVerdict({ ...base, ledgers: [base.ledgers[0] as never, ledger("w2", entries)] });
    expect(verdict.failures.map((f) => f.name)).toEqual(["lost-events"]);
    expect(verdict.failures[0]?.details).toMatchObject({
      lost: 1,
      firstIds: [1150],
      byPartition: { "1": 1 },
    });
    expect(verdict.failures[0]?.summary).toContain("1150");
  });

  it("flags a hand-over with more duplicates than the bound", () => {
    const base = cleanObservations();
    // w2 went back 50 events, twice the bound of 25.
    const ledgers = [base.ledgers[0] as never, ledger("w2", span("1", 50, 199, "w2", 15_000))];
    const verdict = computeVerdict({ ...base, ledgers });
    expect(verdict.failures.map((f) => f.name)).toEqual(["excess-duplicates"]);
    expect(verdict.duplicates.handovers[0]).toMatchObject({ duplicates: 50, bound: 25 });
  });

  it("allows exactly the bound", () => {
    const base = cleanObservations();
    const bound = duplicateBound(base.settings).perHandover;
    const ledgers = [base.ledgers[0] as never, ledger("w2", span("1", 100 - bound, 199, "w2", 15_000))];
    expect(failedNames({ ...base, ledgers })).toEqual([]);
  });

  it("allows no duplicate after a SIGTERM", () => {
    const base = cleanObservations();
    const faults = [term(0, 3000, "w1", ["0", "1"])];
    const one = [base.ledgers[0] as never, ledger("w2", span("1", 99, 199, "w2", 15_000))];
    expect(failedNames({ ...base, faults, ledgers: one })).toEqual(["excess-duplicates"]);
    const none = [base.ledgers[0] as never, ledger("w2", span("1", 100, 199, "w2", 15_000))];
    expect(failedNames({ ...base, faults, ledgers: none })).toEqual([]);
  });

  it("flags a checkpoint that moved backwards", () => {
    const base = cleanObservations();
    const checkpoints = [
      ...base.checkpoints.slice(0, 2),
      ckpt(16_000, { "1": 80 }),
      ...base.checkpoints.slice(2),
    ];
    const verdict = computeVerdict({ ...base, checkpoints });
    expect(verdict.failures.map((f) => f.name)).toEqual(["checkpoint-moved-backwards"]);
    expect(verdict.failures[0]?.details).toMatchObject({
      backwards: [{ partitionId: "1", from: 89, to: 80 }],
    });
  });

  it("flags a key processed out of order within one run", () => {
    const keyOf = (s: number) => `key-${s % 3}`;
    const base = cleanObservations({
      sent: sentFor({ "0": 6 }, keyOf),
      faults: [],
      lastSequenceNumbers: { "0": 5 },
    });
    const ordered = [0, 1, 2, 3, 4, 5].map((s) => entry("0", s, "w1", 100 + s, keyOf(s)));
    const checkpoints = [ckpt(1000, { "0": 5 })];
    const settings = { ...base.settings, ordering: "key" as const };
    expect(failedNames({ ...base, checkpoints, settings, ledgers: [ledger("w1", ordered)] })).toEqual([]);
    // key-0 holds 0 and 3: 3 before 0 breaks its order (no sequence number repeats, so one run).
    const swapped = [3, 1, 2, 0, 4, 5].map((s, i) => entry("0", s, "w1", 100 + i, keyOf(s)));
    const verdict = computeVerdict({ ...base, checkpoints, settings, ledgers: [ledger("w1", swapped)] });
    expect(verdict.failures.map((f) => f.name)).toEqual(["key-order-violated"]);
    expect(verdict.failures[0]?.details).toMatchObject({
      violations: [{ key: "key-0", previous: 3, next: 0 }],
    });
  });

  it("does not count the restart from an earlier checkpoint as an order break", () => {
    const keyOf = (s: number) => `key-${s % 2}`;
    const base = cleanObservations();
    const settings = { ...base.settings, ordering: "key" as const };
    const sent = sentFor({ "0": 200, "1": 200 }, keyOf);
    // The same worker goes back from 99 to 90 on partition 1 (a reconnect), then goes on.
    const w1 = ledger(
      "w1",
      span("0", 0, 199, "w1", 1000, keyOf),
      span("1", 0, 99, "w1", 1000, keyOf),
      span("1", 90, 199, "w1", 5000, keyOf),
    );
    const verdict = computeVerdict({ ...base, sent, settings, faults: [], ledgers: [w1] });
    expect(verdict.failures).toEqual([]);
    expect(verdict.runs).toBe(3);
    expect(verdict.duplicates.handovers[0]).toMatchObject({ cause: "reconnect", duplicates: 10 });
  });

  it("flags partitions whose checkpoint did not reach the last event", () => {
    const base = cleanObservations();
    const verdict = computeVerdict({ ...base, checkpoints: base.checkpoints.slice(0, 2) });
    expect(verdict.failures.map((f) => f.name)).toEqual(["not-caught-up"]);
    expect(verdict.failures[0]?.details).toMatchObject({
      behind: [{ partitionId: "1", checkpoint: 89, last: 199 }],
    });
  });
});

describe("hand-over attribution", () => {
  it("calls a take-over by a running worker a rebalance after the latest fault, with the crash bound", () => {
    const base = cleanObservations();
    // w3 takes partition 0 from w1 (alive) after the kill of another worker.
    const faults = [kill(0, 3000, "w9", [])];
    const ledgers = [
      ledger("w1", span("0", 0, 99, "w1", 1000)),
      ledger("w3", span("0", 95, 199, "w3", 5000), span("1", 0, 199, "w3", 5000)),
    ];
    const verdict = computeVerdict({ ...base, faults, ledgers });
    expect(verdict.duplicates.handovers).toEqual([
      expect.objectContaining({
        cause: "rebalance",
        faultIndex: 0,
        fromWorker: "w1",
        toWorker: "w3",
        duplicates: 5,
        bound: 25,
      }),
    ]);
    expect(verdict.duplicates.byCause).toEqual({ "rebalance@0": 5 });
  });

  it("calls the same worker starting over after a hub restart a reconnect of that fault", () => {
    const base = cleanObservations();
    const faults = [{ index: 0, kind: "restart-hub" as const, atMs: 2500, doneAtMs: 3500 }];
    const ledgers = [
      ledger(
        "w1",
        span("0", 0, 199, "w1", 1000),
        span("1", 0, 99, "w1", 1000),
        span("1", 80, 199, "w1", 4000),
      ),
    ];
    const verdict = computeVerdict({ ...base, faults, ledgers });
    expect(verdict.duplicates.handovers).toEqual([
      expect.objectContaining({ cause: "reconnect", faultIndex: 0, duplicates: 20 }),
    ]);
    expect(verdict.passed).toBe(true);
  });

  it("calls take-overs before any fault initial", () => {
    const base = cleanObservations();
    const ledgers = [
      ledger("w1", span("0", 0, 9, "w1", 100)),
      ledger("w2", span("0", 5, 199, "w2", 500), span("1", 0, 199, "w2", 500)),
    ];
    const verdict = computeVerdict({ ...base, faults: [], ledgers });
    expect(verdict.duplicates.handovers).toEqual([
      expect.objectContaining({ cause: "initial", duplicates: 5 }),
    ]);
  });
});

describe("attribution by the new owner's claim line", () => {
  // w1 processed partition 0 to 99; w3 took it over at 5000 and went back to 95 (5 duplicates).
  const ledgers = [
    ledger("w1", span("0", 0, 99, "w1", 1000)),
    ledger("w3", span("0", 95, 199, "w3", 5000), span("1", 0, 199, "w3", 5000)),
  ];
  const claim = (via: string, atMs = 4900) => ({ workerId: "w3", partitionId: "0", atMs, via });

  it("holds a cooperative hand-over to 0 duplicates", () => {
    const verdict = computeVerdict({
      ...cleanObservations(),
      faults: [],
      ledgers,
      claims: [claim("handover")],
    });
    expect(verdict.duplicates.handovers).toEqual([
      expect.objectContaining({ cause: "handover", bound: 0, duplicates: 5 }),
    ]);
    expect(verdict.failures.map((f) => f.name)).toEqual(["excess-duplicates"]);
    expect(verdict.duplicates.byCause).toEqual({ handover: 5 });
  });

  it("gives a steal (request unanswered, or an expired owner) the crash bound", () => {
    for (const via of ["steal", "expired"]) {
      const verdict = computeVerdict({ ...cleanObservations(), faults: [], ledgers, claims: [claim(via)] });
      expect(verdict.duplicates.handovers[0]).toMatchObject({ cause: "steal", bound: 25, duplicates: 5 });
      expect(verdict.passed).toBe(true);
    }
  });

  it("holds a release to 0, unless a hub or storage fault fell between the two runs", () => {
    const quiet = computeVerdict({
      ...cleanObservations(),
      faults: [],
      ledgers,
      claims: [claim("released")],
    });
    expect(quiet.duplicates.handovers[0]).toMatchObject({ cause: "release", bound: 0 });
    const restart = { index: 0, kind: "restart-storage" as const, atMs: 2000, doneAtMs: 3000 };
    const disturbed = computeVerdict({
      ...cleanObservations(),
      faults: [restart],
      ledgers,
      claims: [claim("released")],
    });
    expect(disturbed.duplicates.handovers[0]).toMatchObject({ cause: "release", faultIndex: 0, bound: 25 });
  });

  it("ignores a claim line older than the previous run (an earlier ownership of the same partition)", () => {
    const verdict = computeVerdict({
      ...cleanObservations(),
      faults: [],
      ledgers,
      claims: [claim("handover", 500)],
    });
    expect(verdict.duplicates.handovers[0]).toMatchObject({ cause: "initial", bound: 25 });
  });
});

describe("duplicates left over by an older steal", () => {
  it("are charged to the run that processed them first, not to a SIGTERM in between", () => {
    const base = cleanObservations();
    // w3 processed partition 1 to 130 and lost it to w5, which went back to 100 and had reached
    // 120 when it was SIGTERMed (final checkpoint 120). w6 goes on from 121: 121..130 are w3's
    // leftovers, not the stopped worker's.
    const ledgers = [
      ledger("w3", span("0", 0, 199, "w3", 1000), span("1", 0, 130, "w3", 1000)),
      ledger("w5", span("1", 100, 120, "w5", 5000)),
      ledger("w6", span("1", 121, 199, "w6", 9000)),
    ];
    const faults = [term(0, 7000, "w5", ["1"])];
    const verdict = computeVerdict({ ...base, faults, ledgers });
    const summary = verdict.duplicates.handovers.map((h) => [
      h.fromWorker,
      h.toWorker,
      h.cause,
      h.duplicates,
    ]);
    expect(summary).toEqual([
      ["w3", "w5", "initial", 21],
      ["w3", "w6", "rebalance", 10],
    ]);
    expect(verdict.duplicates.byCause).toEqual({ initial: 21, "rebalance@0": 10 });
    expect(verdict.failures).toEqual([]);
  });
});

describe("a victim processing a partition it no longer owned", () => {
  it("hands it over as a rebalance with the crash bound, not as the SIGTERM's", () => {
    const base = cleanObservations();
    // w1 still processes partition 1 although the fault's sample shows it owned only partition 0.
    const faults = [term(0, 3000, "w1", ["0"])];
    const ledgers = [base.ledgers[0] as never, ledger("w2", span("1", 90, 199, "w2", 15_000))];
    const verdict = computeVerdict({ ...base, faults, ledgers });
    expect(verdict.duplicates.handovers[0]).toMatchObject({
      cause: "rebalance",
      faultIndex: 0,
      bound: 25,
      duplicates: 10,
    });
    expect(verdict.failures).toEqual([]);
  });
});
