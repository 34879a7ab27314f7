import { afterEach, describe, expect, it, vi } from "vitest";
import { EXIT_USAGE, printColumns, readListOrReplay } from "../../../src/cli/list-replay.js";
import { ConfigError } from "../../../src/common/errors.js";

function capture(): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: string) => void out.push(line));
  vi.spyOn(console, "error").mockImplementation((line: string) => void err.push(line));
  return { out, err };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("readListOrReplay", () => {
  const options = { limit: 3 };
  const read = (action: "list" | "replay", rest: string[]) =>
    rest.includes("--help")
      ? ({ help: true } as const)
      : ({ help: false, options: { ...options, action } } as const);

  it("hands the action and the words after it to the command's reader", () => {
    capture();
    expect(readListOrReplay("archive", "USAGE", ["replay", "--json"], read)).toEqual({
      limit: 3,
      action: "replay",
    });
  });

  it("prints usage with exit 2 when no action is given, and exit 0 for help", () => {
    const { out } = capture();
    expect(readListOrReplay("archive", "USAGE", [], read)).toBe(EXIT_USAGE);
    expect(readListOrReplay("archive", "USAGE", ["--help"], read)).toBe(0);
    expect(readListOrReplay("archive", "USAGE", ["list", "--help"], read)).toBe(0);
    expect(out).toEqual(["USAGE", "USAGE", "USAGE"]);
  });

  it("names the command and the unknown action", () => {
    const { err } = capture();
    expect(readListOrReplay("deadletter", "USAGE", ["purge"], read)).toBe(EXIT_USAGE);
    expect(err[0]).toContain("ehw deadletter: unknown action 'purge' (list | replay)");
  });

  it("turns a configuration error into exit 2 with its message, secrets redacted", () => {
    const { err } = capture();
    const failing = () => {
      throw new ConfigError("bad connection string Endpoint=sb://x/;SharedAccessKey=c2VjcmV0");
    };
    expect(readListOrReplay("archive", "USAGE", ["list"], failing)).toBe(EXIT_USAGE);
    expect(err[0]).toMatch(/^ehw archive: bad connection string/);
    expect(err[0]).not.toContain("c2VjcmV0");
  });

  it("lets any other error through", () => {
    capture();
    const failing = () => {
      throw new TypeError("a bug");
    };
    expect(() => readListOrReplay("archive", "USAGE", ["list"], failing)).toThrow(TypeError);
  });
});

describe("printColumns", () => {
  it("aligns every column to its widest cell, two spaces apart, no trailing spaces", () => {
    const { out } = capture();
    printColumns([
      ["FILE", "EVENTS", "ERROR"],
      ["a-long-name", "7", "x"],
      ["b", "12345", ""],
    ]);
    expect(out).toEqual(["FILE         EVENTS  ERROR", "a-long-name  7       x", "b            12345"]);
  });
});
