import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { readRawWorkerOptions, WORKER_OPTIONS_HELP } from "../../../src/config/source.js";
import { SETTINGS } from "../../../src/config/worker.js";
import { baseEnv, compile, EH_KEY, messageOf } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "ehw-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

describe("readRawWorkerOptions precedence", () => {
  const file = writeConfig("precedence.json", { checkpointEvery: 10, concurrency: 3, maxAttempts: 2 });

  it("prefers flag over env over file over default", () => {
    const env = { ...baseEnv(), EHW_CONFIG: file, EHW_CHECKPOINT_EVERY: "20", EHW_CONCURRENCY: "4" };
    const c = compile(["--checkpoint-every", "30"], env);
    expect(c.processing.checkpointEvery).toBe(30); // flag beats env and file
    expect(c.processing.concurrency).toBe(4); // env beats file
    expect(c.processing.maxAttempts).toBe(2); // file beats default
    expect(c.processing.maxBatchSize).toBe(100); // default
  });

  it("records where each value came from", () => {
    const env = { ...baseEnv(), EHW_CONCURRENCY: "4" };
    const { raw } = readRawWorkerOptions(["--config", file, "--checkpoint-every=30"], env, dir);
    expect(raw.checkpointEvery?.source).toEqual({ kind: "flag", name: "--checkpoint-every" });
    expect(raw.concurrency?.source).toEqual({ kind: "env", name: "EHW_CONCURRENCY" });
    expect(raw.maxAttempts?.source).toEqual({ kind: "file", name: "maxAttempts", path: file });
    expect(raw.maxBatchSize).toBeUndefined();
  });

  it("treats an empty env var as unset", () => {
    const c = compile([], { ...baseEnv(), EHW_CONCURRENCY: "", EHW_CONFIG: file });
    expect(c.processing.concurrency).toBe(3);
  });

  it("prefers --config over EHW_CONFIG and resolves it against the working directory", () => {
    writeConfig("other.json", { concurrency: 9 });
    const c = compile(["--config", "other.json"], { ...baseEnv(), EHW_CONFIG: "/nonexistent.json" }, dir);
    expect(c.processing.concurrency).toBe(9);
  });

  it("merges per-partition start positions: flag over env over file", () => {
    const positions = writeConfig("positions.json", {
      startPosition: "latest",
      startPositions: { "0": "latest", "1": "latest", "2": "latest" },
    });
    const env = { ...baseEnv(), EHW_CONFIG: positions, EHW_START_POSITION: "1=earliest,2=earliest" };
    const c = compile(["--start-position", "2=2024-01-01T00:00:00Z"], env);
    expect(c.processing.startPosition).toEqual({ kind: "latest" });
    expect(c.processing.startPositions).toEqual({
      "0": { kind: "latest" },
      "1": { kind: "earliest" },
      "2": { kind: "enqueuedTime", enqueuedOnMs: Date.UTC(2024, 0, 1) },
    });
  });
});

describe("readRawWorkerOptions command line", () => {
  it("rejects an unknown flag, naming it and the closest known one", () => {
    const message = messageOf(() => readRawWorkerOptions(["--checkpoint-evry", "5"], {}, dir));
    expect(message).toMatch(/unknown option --checkpoint-evry \(did you mean --checkpoint-every\?\)/);
  });

  it("refuses the removed checkpoint thread in each spelling, saying to remove it", () => {
    const removed = /checkpoint-thread was removed: .*; remove it/;
    expect(messageOf(() => readRawWorkerOptions(["--checkpoint-thread", "true"], {}, dir))).toMatch(removed);
    expect(messageOf(() => readRawWorkerOptions(["--checkpoint-thread=false"], {}, dir))).toMatch(removed);
    expect(messageOf(() => readRawWorkerOptions([], { EHW_CHECKPOINT_THREAD: "true" }, dir))).toMatch(
      /^EHW_CHECKPOINT_THREAD was removed: .*; remove it/,
    );
    const path = writeConfig("thread.json", { checkpointThread: true });
    expect(messageOf(() => readRawWorkerOptions(["--config", path], {}, dir))).toMatch(
      new RegExp(`^config file ${path}: setting "checkpointThread" was removed: `),
    );
  });

  it("rejects a flag given twice, except --start-position", () => {
    expect(messageOf(() => readRawWorkerOptions(["--concurrency", "1", "--concurrency=2"], {}, dir))).toMatch(
      /option --concurrency is given 2 times/,
    );
    const { raw } = readRawWorkerOptions(
      ["--start-position", "0=latest", "--start-position", "1=latest"],
      {},
      dir,
    );
    expect(Object.keys(raw.startPositions ?? {})).toEqual(["0", "1"]);
  });

  it("rejects a stray argument and a flag without its value", () => {
    expect(() => readRawWorkerOptions(["orders"], {}, dir)).toThrow(ConfigError);
    expect(() => readRawWorkerOptions(["--concurrency"], {}, dir)).toThrow(ConfigError);
  });

  it("rejects two default start positions in one source", () => {
    expect(
      messageOf(() =>
        readRawWorkerOptions(["--start-position", "latest", "--start-position", "earliest"], {}, dir),
      ),
    ).toMatch(/--start-position gives the default start position twice/);
  });

  it("answers --help without reading the config file", () => {
    const result = readRawWorkerOptions(["-h"], { EHW_CONFIG: "/does/not/exist.json" }, dir);
    expect(result.help).toBe(true);
  });

  it("documents every setting in the help text", () => {
    for (const [key, spec] of Object.entries(SETTINGS)) {
      expect(WORKER_OPTIONS_HELP).toContain(spec.flag);
      expect(WORKER_OPTIONS_HELP).toContain(spec.env);
      expect(WORKER_OPTIONS_HELP).toContain(`"${key}"`);
    }
  });
});

describe("readRawWorkerOptions config file", () => {
  it("names a missing file", () => {
    const path = join(dir, "missing.json");
    expect(messageOf(() => readRawWorkerOptions([], { EHW_CONFIG: path }, dir))).toBe(
      `config file ${path} (from EHW_CONFIG) does not exist`,
    );
  });

  it("names a file that is not JSON, without quoting its content", () => {
    const path = writeConfig("broken.json", `{"eventHubConnectionString": "SharedAccessKey=${EH_KEY}"`);
    const message = messageOf(() => readRawWorkerOptions(["--config", path], {}, dir));
    const text = `{"eventHubConnectionString": "SharedAccessKey=${EH_KEY}"`;
    expect(message).toBe(
      `config file ${path} (from --config) is not valid JSON at line 1, column ${text.length + 1} (Expected ',' or '}' after property value)`,
    );
    expect(message).not.toContain(EH_KEY);
  });

  it("gives the line and column of the first thing that is not JSON", () => {
    const path = writeConfig("lines.json", '{\n  "checkpointEvery": 5,\n  concurrency: 4\n}\n');
    expect(messageOf(() => readRawWorkerOptions(["--config", path], {}, dir))).toBe(
      `config file ${path} (from --config) is not valid JSON at line 3, column 3 (Expected double-quoted property name)`,
    );
  });

  it("requires a JSON object", () => {
    const path = writeConfig("array.json", [1, 2]);
    expect(messageOf(() => readRawWorkerOptions(["--config", path], {}, dir))).toMatch(
      /must hold a JSON object/,
    );
  });

  it("rejects an unknown key, suggesting the closest known one", () => {
    const path = writeConfig("typo.json", { checkpointIntervalMS: 1000 });
    expect(messageOf(() => readRawWorkerOptions(["--config", path], {}, dir))).toBe(
      `config file ${path}: unknown setting "checkpointIntervalMS" (did you mean "checkpointIntervalMs"?)`,
    );
  });

  it("rejects a startPositions that is not an object", () => {
    const path = writeConfig("positions-bad.json", { startPositions: ["latest"] });
    expect(messageOf(() => readRawWorkerOptions(["--config", path], {}, dir))).toMatch(
      /startPositions \(in .*\) must be an object of partition id/,
    );
  });

  it("takes JSON types from the file and names the file key when the type is wrong", () => {
    const ok = writeConfig("types.json", { createContainer: false, checkpointEvery: 5, ordering: "none" });
    const c = compile([], { ...baseEnv(), EHW_CONFIG: ok });
    expect(c.storage.createContainer).toBe(false);
    expect(c.processing.checkpointEvery).toBe(5);
    const bad = writeConfig("types-bad.json", { checkpointEvery: "5" });
    expect(messageOf(() => compile([], { ...baseEnv(), EHW_CONFIG: bad }))).toBe(
      `checkpointEvery (in ${bad})="5" is not a positive integer (checkpointEvery: completed events between checkpoints, ≥ 1)`,
    );
  });

  it("reads the handler sections, resolving module paths against the file's directory", () => {
    const path = writeConfig("handlers.json", {
      handlers: { audit: { module: "./handlers/audit.js" }, log: { builtin: "log" } },
      pipelines: { default: ["audit", "log"] },
    });
    const c = compile([], { ...baseEnv(), EHW_CONFIG: path }, "/somewhere/else");
    expect(c.handlers.handlers[0]?.source).toMatchObject({
      kind: "module",
      specifier: join(dir, "handlers/audit.js"),
    });
    expect(c.handlers.pipelines).toEqual([{ name: "default", handlers: ["audit", "log"] }]);
  });

  it("lets the --handler shortcut override the file's handler sections", () => {
    const path = writeConfig("handlers2.json", {
      handlers: { audit: { module: "./audit.js" } },
      pipelines: { default: ["audit"] },
    });
    const c = compile(["--handler", "log"], { ...baseEnv(), EHW_CONFIG: path });
    expect(c.handlers.handlers).toEqual([
      { name: "main", source: { kind: "builtin", builtin: "log" }, options: {} },
    ]);
  });
});
