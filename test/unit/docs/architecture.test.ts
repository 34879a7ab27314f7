/**
 * docs/architecture.md is the map of src/: every source file it names in backticks must exist, so
 * that a file renamed, split or removed without its line in the map fails here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../../", import.meta.url);
const map = readFileSync(new URL("docs/architecture.md", root), "utf8");

/** Every file under src/, as a path relative to src/ ("worker/partition/processor.ts"). */
const sources = (readdirSync(new URL("src/", root), { recursive: true }) as string[]).map((p) =>
  p.split("\\").join("/"),
);

/** File names the map writes in backticks (`progress/tracker.ts`), placeholders like `<mode>` left out. */
function namedFiles(text: string): string[] {
  const names = [...text.matchAll(/`([\w./-]+\.ts)`/g)].map((m) => m[1] ?? "");
  return [...new Set(names)];
}

describe("docs/architecture.md", () => {
  it("names source files that exist", () => {
    const named = namedFiles(map);
    expect(named.length).toBeGreaterThan(20);
    const missing = named.filter((name) => {
      const path = name.replace(/^src\//, "");
      return !sources.some((source) => source === path || source.endsWith(`/${path}`));
    });
    expect(missing).toEqual([]);
  });
});
