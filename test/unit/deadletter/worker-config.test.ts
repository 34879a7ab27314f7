/** The dead-letter container setting of the worker and of `ehw deadletter`. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readRawDeadLetterOptions } from "../../../src/config/command-source.js";
import { WORKER_OPTIONS_HELP } from "../../../src/config/source.js";
import { describeConfig } from "../../../src/config/worker.js";
import {
  compileDeadLetterCommandOptions,
  DEAD_LETTER_FLAGS,
} from "../../../src/deadletter/command-options.js";
import { baseEnv, compile, configErrorOf } from "../config/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "ehw-deadletter-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENV = baseEnv();

describe("deadLetterContainer (ehw run)", () => {
  it("defaults to <containerName>-deadletter", () => {
    expect(compile([]).deadLetter).toEqual({ containerName: "checkpoints-deadletter" });
  });

  it("comes from the flag, EHW_DEAD_LETTER_CONTAINER or the file, in that order", () => {
    const file = join(dir, "worker.json");
    writeFileSync(file, JSON.stringify({ deadLetterContainer: "from-file" }));
    expect(compile(["--config", file]).deadLetter.containerName).toBe("from-file");
    expect(
      compile(["--config", file], { ...ENV, EHW_DEAD_LETTER_CONTAINER: "from-env" }).deadLetter.containerName,
    ).toBe("from-env");
    expect(
      compile(["--config", file, "--dead-letter-container", "from-flag"], {
        ...ENV,
        EHW_DEAD_LETTER_CONTAINER: "from-env",
      }).deadLetter.containerName,
    ).toBe("from-flag");
  });

  it.each([
    ["Dead_Letters", /lower-case letters, digits and single hyphens/],
    ["dl", /3 to 63 characters/],
    ["a--b", /single hyphens/],
    ["checkpoints", /must differ from containerName/],
  ])("rejects %s, naming the setting as written", (value, message) => {
    const err = configErrorOf(() => compile(["--dead-letter-container", value]));
    expect(err.message).toMatch(/--dead-letter-container/);
    expect(err.message).toMatch(message);
  });

  it("is documented in ehw run --help and shown by describeConfig", () => {
    expect(WORKER_OPTIONS_HELP).toContain("--dead-letter-container");
    expect(WORKER_OPTIONS_HELP).toContain("EHW_DEAD_LETTER_CONTAINER");
    expect(describeConfig(compile([])).deadLetter).toEqual({ containerName: "checkpoints-deadletter" });
  });
});

describe("deadLetterContainer (ehw deadletter)", () => {
  function read(argv: string[], env: Record<string, string> = ENV) {
    const result = readRawDeadLetterOptions("deadletter list", argv, DEAD_LETTER_FLAGS.list, env, dir);
    return compileDeadLetterCommandOptions("list", result.raw, result.flags, dir);
  }

  it("reads the same setting as the worker", () => {
    const file = join(dir, "fleet.json");
    writeFileSync(file, JSON.stringify({ deadLetterContainer: "fleet-dl", concurrency: 4 }));
    expect(read([]).deadLetterContainer).toBe("checkpoints-deadletter");
    expect(read(["--config", file]).deadLetterContainer).toBe("fleet-dl");
    expect(
      read(["--config", file], { ...ENV, EHW_DEAD_LETTER_CONTAINER: "env-dl" }).deadLetterContainer,
    ).toBe("env-dl");
    expect(read(["--dead-letter-container", "flag-dl", "--json"]).deadLetterContainer).toBe("flag-dl");
    expect(read(["--json", "--partition", "3"])).toMatchObject({ json: true, partitionId: "3" });
  });

  it("rejects an unknown flag", () => {
    expect(configErrorOf(() => read(["--dead-letter", "x"])).message).toMatch(/unknown option --dead-letter/);
  });
});
