import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LedgerCounter } from "../../../src/dev/ledger-counter.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ehw-ledger-counter-"));
  dirs.push(dir);
  return join(dir, "worker-1.jsonl");
}

describe("LedgerCounter", () => {
  it("counts lines appended after it was created, not those already there", async () => {
    const path = await tempFile();
    await writeFile(path, "old-1\nold-2\n");
    const seen: string[] = [];
    const counter = await LedgerCounter.fromEnd(path, (line) => seen.push(line));
    try {
      expect(await counter.update()).toBe(0);
      await appendFile(path, "a\nb\n");
      expect(await counter.update()).toBe(2);
      expect(seen).toEqual(["a", "b"]);
    } finally {
      await counter.close();
    }
  });

  it("waits for a missing file, and for the end of a torn line", async () => {
    const path = await tempFile();
    const seen: string[] = [];
    const counter = await LedgerCounter.fromEnd(path, (line) => seen.push(line));
    try {
      expect(await counter.update()).toBe(0);
      await writeFile(path, '{"p":"0","s":1}\n{"p":"0",');
      expect(await counter.update()).toBe(1);
      await appendFile(path, '"s":2}\n');
      expect(await counter.update()).toBe(2);
      expect(seen).toEqual(['{"p":"0","s":1}', '{"p":"0","s":2}']);
      expect(counter.count).toBe(2);
    } finally {
      await counter.close();
    }
  });
});
