import { describe, expect, it } from "vitest";
import {
  hashPartitionKey,
  mapPartitionKeyToId,
} from "../../../node_modules/@azure/event-hubs/dist/esm/impl/partitionKeyToIdMapper.js";
import { partitionIndexForKey, partitionKeyHash } from "../../../src/emulator/services/partition-key.js";

/** Deterministic pseudo-random generator so that a failure names a reproducible key. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
}

function sampleKeys(): string[] {
  const keys = ["", "a", "ab", "abc", "abcd", "alphabet", "TheBestParitionEver", "TheWorstParitionEver"];
  keys.push("ключ", "キー", "🔑🔑", "é", "ñandú-ß", "\u0000", "line\nbreak", "x".repeat(1000));
  // Every length 0..40 so that each tail length (0..12) and several full blocks are exercised.
  for (let len = 0; len <= 40; len++) keys.push("0123456789abcdefghijklmnopqrstuvwxyzABCDEF".slice(0, len));
  const next = lcg(42);
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_:/ äöüλ中文😀";
  for (let i = 0; i < 400; i++) {
    const len = next() % 64;
    let key = "";
    for (let j = 0; j < len; j++) key += [...alphabet][next() % [...alphabet].length];
    keys.push(key);
  }
  for (let i = 0; i < 100; i++) keys.push(`device-${i}`, `tenant/${i * 7919}/order`);
  return keys;
}

describe("partitionKeyHash", () => {
  it("matches the vectors the SDK's tests take from the service's own implementation", () => {
    expect(partitionIndexForKey("alphabet", 3)).toBe(0);
    expect(partitionIndexForKey("alphabet", 11)).toBe(4);
    expect(partitionIndexForKey("TheBestParitionEver", 4)).toBe(2);
    expect(partitionIndexForKey("TheWorstParitionEver", 15)).toBe(1);
  });

  it("is a signed 16-bit value", () => {
    const hashes = sampleKeys().map(partitionKeyHash);
    for (const h of hashes) {
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(-32768);
      expect(h).toBeLessThanOrEqual(32767);
    }
    expect(hashes.some((h) => h < 0)).toBe(true);
  });

  it("agrees with the SDK's buffered producer on every sample key", () => {
    const mismatches = sampleKeys().filter((key) => partitionKeyHash(key) !== hashPartitionKey(key));
    expect(mismatches).toEqual([]);
  });
});

describe("partitionIndexForKey", () => {
  it("agrees with the SDK's mapPartitionKeyToId for partition counts 1..32", () => {
    const mismatches: string[] = [];
    for (const key of sampleKeys()) {
      for (let count = 1; count <= 32; count++) {
        const ours = partitionIndexForKey(key, count);
        if (ours !== mapPartitionKeyToId(key, count)) mismatches.push(`${JSON.stringify(key)} / ${count}`);
        if (ours < 0 || ours >= count) mismatches.push(`out of range: ${JSON.stringify(key)} / ${count}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("spreads keys over the partitions", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(partitionIndexForKey(`key-${i}`, 8));
    expect(seen.size).toBe(8);
  });
});
