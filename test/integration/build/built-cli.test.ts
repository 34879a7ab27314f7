/**
 * The CLI as the container image runs it: `src/` compiled with tsconfig.build.json and started
 * with plain `node` (no tsx loader, no NODE_OPTIONS), from a directory next to node_modules the way
 * /app/dist sits next to /app/node_modules in the image.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SETTINGS } from "../../../src/config/worker.js";
import { parseReadyLine } from "../../../src/local/index.js";
import { waitFor } from "../../helpers/wait-for.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Compiling the whole of src/ on two busy cores takes a while. */
const BUILD_TIMEOUT_MS = 240_000;

/** A minimal environment: nothing from the test runner (loaders, NODE_OPTIONS) leaks into the child. */
const CLEAN_ENV: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };

let buildDir = "";
let entry = "";
const children: ChildProcess[] = [];

beforeAll(() => {
  // Inside the repository (ignored .ehw/), so bare imports resolve from its node_modules.
  mkdirSync(join(ROOT, ".ehw"), { recursive: true });
  buildDir = mkdtempSync(join(ROOT, ".ehw", "built-cli-"));
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const outDir = join(buildDir, "dist");
  const result = spawnSync(
    process.execPath,
    [tsc, "-p", "tsconfig.build.json", "--outDir", outDir, "--declaration", "false", "--sourceMap", "false"],
    { cwd: ROOT, encoding: "utf8", env: CLEAN_ENV, timeout: BUILD_TIMEOUT_MS },
  );
  if (result.status !== 0) {
    throw new Error(
      `tsc -p tsconfig.build.json failed (${result.status}):\n${result.stdout}${result.stderr}`,
    );
  }
  entry = join(outDir, "cli", "index.js");
}, BUILD_TIMEOUT_MS + 10_000);

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, "SIGKILL");
    }
  }
});

afterAll(() => {
  if (buildDir !== "") rmSync(buildDir, { recursive: true, force: true });
});

function runBuilt(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [entry, ...args], {
    cwd: buildDir,
    encoding: "utf8",
    env: CLEAN_ENV,
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the built CLI", () => {
  it("lists its commands, the ones the deployment files run among them", () => {
    const { status, stdout } = runBuilt(["--help"]);
    expect(status).toBe(0);
    for (const command of ["run", "hub", "send", "status", "checkpoints"]) {
      expect(stdout).toMatch(new RegExp(`^ {2}${command} `, "m"));
    }
  });

  it("`run --help` prints every setting and exits 0 without tsx", () => {
    const { status, stdout, stderr } = runBuilt(["run", "--help"]);
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(stdout).toContain("usage: ehw run");
    for (const spec of Object.values(SETTINGS)) expect(stdout).toContain(spec.env);
  });

  it("`run` with a bad setting exits 2 before connecting anywhere", () => {
    const { status, stderr } = runBuilt(["run", "--checkpoint-every", "zero"]);
    expect(status).toBe(2);
    expect(stderr).toMatch(/^ehw run: /);
  });

  it("`hub` prints its ready line, answers /health and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, [entry, "hub", "--port", "0", "--admin-port", "0", "--json"], {
      cwd: buildDir,
      env: CLEAN_ENV,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stdout = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const ready = await waitFor(() => stdout.split("\n").map(parseReadyLine).find(Boolean), {
      timeoutMs: 30_000,
      what: "the emulator's ready line",
    });
    expect(ready.amqpPort).toBeGreaterThan(0);
    expect(ready.raw.host).toBe("127.0.0.1");
    const health = await fetch(`http://127.0.0.1:${ready.adminPort}/health`);
    expect(health.status).toBe(200);
    process.kill(child.pid as number, "SIGTERM");
    expect(await exited).toBe(0);
  });
});
