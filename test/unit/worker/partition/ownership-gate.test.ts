import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { OwnershipGate } from "../../../../src/worker/partition/ownership-gate.js";

function gate(ages: Map<string, number>) {
  const lines: Array<{ msg: string; level: number }> = [];
  const logger = pino({ level: "info" }, { write: (text: string) => lines.push(JSON.parse(text)) });
  const g = new OwnershipGate({
    partitionId: "0",
    renewals: { renewalAgeMs: (id) => ages.get(id) },
    ownershipExpirationMs: 4000,
    marginMs: 1000,
    logger,
  });
  return { g, lines };
}

describe("OwnershipGate", () => {
  it("allows while the last renewal is younger than expiry − margin, not from then on", () => {
    const ages = new Map([["0", 2999]]);
    const { g } = gate(ages);
    expect(g.mayTakeEvents()).toBe(true);
    ages.set("0", 3000);
    expect(g.mayTakeEvents()).toBe(false);
    expect(g.paused).toBe(true);
    ages.set("0", 10);
    expect(g.mayTakeEvents()).toBe(true);
    expect(g.paused).toBe(false);
  });

  it("allows a partition the store does not hold (a loss is handled elsewhere)", () => {
    expect(gate(new Map()).g.mayTakeEvents()).toBe(true);
  });

  it("logs one warning per pause and one line when it resumes", () => {
    const ages = new Map([["0", 5000]]);
    const { g, lines } = gate(ages);
    for (let i = 0; i < 5; i += 1) g.mayTakeEvents();
    ages.set("0", 0);
    for (let i = 0; i < 5; i += 1) g.mayTakeEvents();
    expect(lines.map((l) => [l.level, l.msg.split(";")[0]])).toEqual([
      [40, "ownership not renewed (storage not answering?)"],
      [30, "ownership renewed"],
    ]);
  });
});
