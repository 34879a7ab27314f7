/**
 * The README documents every `ehw run` setting and every subcommand; a setting added to the
 * settings table or a command added to the CLI without its line in the README fails here.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../../src/cli/commands.js";
import { SETTINGS } from "../../../src/config/settings.js";

const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");

/** A table row starting with the three cells, however the formatter pads them. */
function tableRow(...cells: string[]): RegExp {
  const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^\\|${cells.map((c) => `\\s*\`${escapeRegExp(c)}\`\\s*\\|`).join("")}`, "m");
}

describe("README", () => {
  it("lists every setting with its flag, variable and file key", () => {
    const missing = Object.entries(SETTINGS)
      .filter(([key, spec]) => !tableRow(spec.flag, spec.env, key).test(readme))
      .map(([key]) => key);
    expect(missing).toEqual([]);
  });

  it("states each setting's default as the settings table (and so `ehw run --help`) does", () => {
    const rows = readme.split("\n").filter((line) => line.startsWith("| `--"));
    const wrong = Object.values(SETTINGS).flatMap((spec) => {
      const cells = rows.find((line) => line.startsWith(`| \`${spec.flag}\``))?.split("|");
      const stated = cells?.[4]?.trim();
      const expected = spec.defaultText ?? "—";
      return stated === expected ? [] : [`${spec.flag}: README ${stated}, settings ${expected}`];
    });
    expect(wrong).toEqual([]);
  });

  it("mentions every subcommand", () => {
    const missing = Object.keys(COMMANDS).filter((name) => !readme.includes(`ehw ${name}`));
    expect(missing).toEqual([]);
  });

  it("gives the two commands for a fresh machine on its first screen", () => {
    const firstScreen = readme.split("\n").slice(0, 24).join("\n");
    expect(firstScreen).toContain("npm install && npm start");
    expect(firstScreen).toContain("npm install && npm test");
  });
});
