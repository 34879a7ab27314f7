/**
 * `npm run bench`: runs every benchmark script in bench/ in turn (or the ones named on the command
 * line), each as its own process (`node --expose-gc --import tsx bench/<name>.ts`), passing its
 * output through, and ends with the figures line (the last JSON object line) of each.
 *
 *   npm run bench                                   # all of them (scratch files _*.ts only by name)
 *   npm run bench -- worker-throughput worker-memory
 *   npm run bench -- worker-memory -- --events 200000   # arguments after "--" go to every script
 *
 * Exit code: 0 when every script exited 0, else 1. Each script stops its own processes; a script
 * that outlives its time limit is killed by PID.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** Longest a single benchmark may run, ms. */
const SCRIPT_TIMEOUT_MS = 15 * 60 * 1000;
const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
const SELF = "run.ts";

/** Script names in bench/; files named `_*.ts` are scratch work and run only when named. */
function available(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith(".ts") && f !== SELF)
    .map((f) => f.slice(0, -3))
    .sort();
}

const isScratch = (name: string) => name.startsWith("_");

function selection(argv: string[]): { names: string[]; forwarded: string[] } {
  const split = argv.indexOf("--");
  const named = (split === -1 ? argv : argv.slice(0, split)).map((n) =>
    n.replace(/^bench\//, "").replace(/\.ts$/, ""),
  );
  const forwarded = split === -1 ? [] : argv.slice(split + 1);
  const all = available();
  const unknown = named.filter((n) => !all.includes(n));
  if (unknown.length > 0) {
    const benchmarks = all.filter((n) => !isScratch(n));
    throw new Error(`unknown benchmark(s): ${unknown.join(", ")}; available: ${benchmarks.join(", ")}`);
  }
  return { names: named.length > 0 ? named : all.filter((n) => !isScratch(n)), forwarded };
}

interface Outcome {
  name: string;
  code: number | null;
  seconds: number;
  figures: string | undefined;
}

/** The last line of `text` that parses as a JSON object. */
function lastJsonLine(lines: string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] ?? "").trim();
    if (!line.startsWith("{")) continue;
    try {
      if (typeof JSON.parse(line) === "object") return line;
    } catch {
      // not JSON: keep looking
    }
  }
  return undefined;
}

async function runOne(name: string, forwarded: string[], tsx: string): Promise<Outcome> {
  const script = `${BENCH_DIR}${name}.ts`;
  console.log(`\n=== ${name} ===`);
  const started = performance.now();
  const child = spawn(process.execPath, ["--expose-gc", "--import", tsx, script, ...forwarded], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: string[] = [];
  let partial = "";
  child.stdout.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    const parts = (partial + chunk.toString()).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
  });
  const timer = setTimeout(() => {
    console.error(`${name}: still running after ${SCRIPT_TIMEOUT_MS / 1000} s; killing PID ${child.pid}`);
    if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
  }, SCRIPT_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
  clearTimeout(timer);
  if (partial !== "") lines.push(partial);
  return { name, code, seconds: (performance.now() - started) / 1000, figures: lastJsonLine(lines) };
}

async function main(): Promise<number> {
  const { names, forwarded } = selection(process.argv.slice(2));
  const tsx = createRequire(import.meta.url).resolve("tsx");
  const outcomes: Outcome[] = [];
  for (const name of names) outcomes.push(await runOne(name, forwarded, tsx));
  console.log("\n=== figures ===");
  for (const o of outcomes) {
    const status = o.code === 0 ? "ok" : `exit ${o.code}`;
    console.log(
      `${o.name} (${status}, ${o.seconds.toFixed(0)} s): ${o.figures ?? "(no JSON figures line; see its table above)"}`,
    );
  }
  return outcomes.every((o) => o.code === 0) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
