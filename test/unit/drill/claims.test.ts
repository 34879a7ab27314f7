import { describe, expect, it } from "vitest";
import { parseClaimLines } from "../../../src/drill/claims.js";

describe("parseClaimLines", () => {
  it("reads partition, time and via of each claim line and skips everything else", () => {
    const text = [
      '{"level":30,"time":"2026-12-03T12:00:00.000Z","msg":"worker running"}',
      '{"level":30,"time":"2026-12-03T12:00:01.500Z","partitionId":"3","reason":"claimed","via":"handover","msg":"partition claimed"}',
      "not json, partition claimed",
      '{"level":30,"time":1764763202000,"partitionId":"4","reason":"claimed","msg":"partition claimed"}',
      '{"level":30,"time":"2026-12-03T12:00:03.000Z","partitionId":"3","msg":"partition handed over"}',
      "",
    ].join("\n");
    expect(parseClaimLines("w2", text)).toEqual([
      { workerId: "w2", partitionId: "3", atMs: Date.parse("2026-12-03T12:00:01.500Z"), via: "handover" },
      { workerId: "w2", partitionId: "4", atMs: 1764763202000, via: "unknown" },
    ]);
  });
});
