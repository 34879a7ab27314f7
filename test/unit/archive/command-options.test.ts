import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readArchiveCommand } from "../../../src/config/archive-command.js";
import { baseEnv, configErrorOf } from "../config/helpers.js";

function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ehw-archive-cmd-"));
  writeFileSync(
    join(dir, "worker.json"),
    JSON.stringify({
      handlers: {
        archive: { builtin: "archive", options: { container: "capture" } },
        log: { builtin: "log" },
      },
      pipelines: { default: ["archive"], audit: ["log"] },
    }),
  );
  return dir;
}

describe("ehw archive options", () => {
  it("finds the container, storage and namespace in the config's archive handler", () => {
    const dir = configDir();
    const read = readArchiveCommand(
      "replay",
      [
        "--config",
        "worker.json",
        "--from",
        "2026-12-01T00:00:00Z",
        "--to=2026-12-02T00:00:00Z",
        "--pipeline",
        "audit",
      ],
      baseEnv(),
      dir,
    );
    if (read.help) throw new Error("unexpected help");
    expect(read.options).toMatchObject({
      container: "capture",
      namespace: "ns",
      pipeline: "audit",
      fromTime: new Date("2026-12-01T00:00:00Z"),
      toTime: new Date("2026-12-02T00:00:00Z"),
    });
    expect(read.options.storage.connectionString).toContain("AccountName=acct");
  });

  it("names what is wrong", () => {
    const dir = configDir();
    const read = (...argv: string[]) =>
      readArchiveCommand("replay", ["--config", "worker.json", ...argv], baseEnv(), dir);
    expect(configErrorOf(() => read("--from", "yesterday")).message).toMatch(
      /--from must be an ISO-8601 time/,
    );
    expect(configErrorOf(() => read("--pipeline", "nope")).message).toMatch(/known: default, audit/);
    expect(configErrorOf(() => read("--pipeline", "audit", "--to-hub", "x")).message).toMatch(
      /exclude each other/,
    );
    expect(configErrorOf(() => read("--from-sequence", "9", "--to-sequence", "3")).message).toMatch(
      /--from-sequence/,
    );
    expect(configErrorOf(() => read("--to-sequence", "1.5")).message).toMatch(/sequence number/);
    expect(configErrorOf(() => readArchiveCommand("list", [], baseEnv(), dir)).message).toMatch(
      /--archive-container is required/,
    );
  });
});
