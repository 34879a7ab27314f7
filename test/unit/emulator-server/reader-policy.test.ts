import { describe, expect, it } from "vitest";
import { parseLinkAddress, partitionIndex } from "../../../src/emulator/server/addresses.js";
import { decideAttach, MAX_NON_EPOCH_READERS } from "../../../src/emulator/services/reader-policy.js";

describe("decideAttach", () => {
  it("admits the first reader of either kind", () => {
    expect(decideAttach([], undefined)).toEqual({ ok: true, steal: [] });
    expect(decideAttach([], 0)).toEqual({ ok: true, steal: [] });
  });

  it("lets a higher or equal epoch steal every current reader", () => {
    const existing = [{ id: 1, epoch: 3 }];
    expect(decideAttach(existing, 4)).toEqual({ ok: true, steal: existing });
    expect(decideAttach(existing, 3)).toEqual({ ok: true, steal: existing });
    const plain = [
      { id: 1, epoch: undefined },
      { id: 2, epoch: undefined },
    ];
    expect(decideAttach(plain, 0)).toEqual({ ok: true, steal: plain });
  });

  it("refuses a lower epoch, and a non-epoch reader while an epoch reader holds, as stolen", () => {
    expect(decideAttach([{ id: 1, epoch: 3 }], 2)).toMatchObject({
      ok: false,
      condition: "amqp:link:stolen",
    });
    expect(decideAttach([{ id: 1, epoch: 0 }], undefined)).toMatchObject({
      ok: false,
      condition: "amqp:link:stolen",
    });
  });

  it("allows five non-epoch readers and refuses the sixth", () => {
    const five = Array.from({ length: MAX_NON_EPOCH_READERS }, (_, i) => ({ id: i, epoch: undefined }));
    expect(decideAttach(five.slice(0, 4), undefined)).toEqual({ ok: true, steal: [] });
    expect(decideAttach(five, undefined)).toMatchObject({
      ok: false,
      condition: "amqp:resource-limit-exceeded",
    });
  });
});

describe("parseLinkAddress", () => {
  it("recognises every address form, with or without a URI prefix", () => {
    expect(parseLinkAddress("$cbs")).toEqual({ kind: "cbs" });
    expect(parseLinkAddress("$management")).toEqual({ kind: "management" });
    expect(parseLinkAddress("hub")).toEqual({ kind: "hub", hub: "hub" });
    expect(parseLinkAddress("amqp://127.0.0.1:5672/hub/Partitions/3")).toEqual({
      kind: "partition",
      hub: "hub",
      partitionId: "3",
    });
    expect(parseLinkAddress("hub/consumergroups/$Default/partitions/0")).toEqual({
      kind: "consumer",
      hub: "hub",
      consumerGroup: "$Default",
      partitionId: "0",
    });
    expect(parseLinkAddress("hub/Other/1").kind).toBe("unknown");
    expect(parseLinkAddress(undefined).kind).toBe("unknown");
  });

  it("maps partition ids to indexes within the count only", () => {
    expect(partitionIndex("0", 2)).toBe(0);
    expect(partitionIndex("1", 2)).toBe(1);
    expect(partitionIndex("2", 2)).toBeUndefined();
    expect(partitionIndex("-1", 2)).toBeUndefined();
    expect(partitionIndex("1a", 2)).toBeUndefined();
  });
});
