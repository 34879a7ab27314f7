/**
 * Load balancing at our defaults against the SDK's own defaults, in one run against one emulator
 * hub of 32 partitions and one Azurite (each its own process). Workers are `ehw run` child
 * processes (so that one can be killed with -9 by PID), ledger handler, one event to every
 * partition every 250 ms. Ownership is read from the ownership blobs; "processing" from the
 * ledgers: a partition processes when its owner handled an event of it after the step began.
 *
 * For each configuration, each scenario in a fresh checkpoint container:
 *   - start 1, 3 and 8 workers together: time until every worker logged "worker running", until
 *     every partition processed an event, and until the split is balanced (owner counts differ
 *     by ≤ 1, each partition's latest event handled by its owner), then ownership changes over the
 *     next three loops (flapping);
 *   - with the 3: add a worker — time until balanced again with the new worker processing, the
 *     processing pause of each moved partition (from the ledgers: the old owner's last event to the
 *     new owner's first, so within one trickle interval), the duplicates the moves caused, and
 *     the cooperative hand-overs the workers logged: how many, how many fell back to a steal,
 *     and each one's pause as the asker logs it (the owner's stop of new events to the claim);
 *   - then kill -9 the added worker — time until each of its partitions processed again.
 *
 * The SDK's-defaults configuration also turns the cooperative hand-over off, as the SDK's own
 * processor has none: its moves are steals.
 *
 * The SDK's defaults need one loop per partition a lone worker claims (32 loops of 10 s), so both
 * configurations run with their interval and expiry multiplied by the same `--scale` (default 0.2:
 * ours 1 s / 3 s, the SDK's 2 s / 12 s); times that follow from the loop scale with it, process
 * start-up and connecting do not. `--scale 1` runs the real defaults (about 15 minutes).
 * Receive wait is 250 ms in both, so that a partition's events are handled within a quarter
 * second of arriving.
 *
 * Run: npm run bench -- balance [-- --scale 0.2 --workers 1,3,8 --partitions 32 --cap-s 240]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ContainerClient } from "@azure/storage-blob";
import { WORKER_DEFAULTS } from "../src/config/worker.js";
import { WorkerFleet } from "../src/drill/fleet.js";
import { silentLogger } from "../src/observability/logger.js";
import { wholeNumber } from "./lib/args.js";
import {
  duplicateCount,
  type FleetView,
  FleetWatch,
  handOversLogged,
  isBalanced,
  latestSince,
  movePauses,
  ownersProcessing,
  startTrickle,
} from "./lib/fleet-watch.js";
import { note, printFigures, printTable, round } from "./lib/report.js";
import { type BenchStack, startBenchStack } from "./lib/stack.js";
import { median } from "./lib/stats.js";

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "0.2" },
    workers: { type: "string", default: "1,3,8" },
    partitions: { type: "string", default: "32" },
    "cap-s": { type: "string", default: "240" },
    configs: { type: "string", default: "defaults,sdk-defaults" },
  },
});

const scale = Number(values.scale);
if (!(scale > 0 && scale <= 1)) throw new Error("--scale must be a number in (0, 1]");
const partitions = wholeNumber(values.partitions, "partitions");
const capMs = wholeNumber(values["cap-s"], "cap-s") * 1000;
const fleetSizes = (values.workers ?? "").split(",").map((w) => wholeNumber(w, "workers"));
const POLL_MS = 200;
const TRICKLE_MS = 250;

/** One configuration's load-balancing settings. */
interface Config {
  name: "defaults" | "sdk-defaults";
  strategy: string;
  updateIntervalMs: number;
  ownershipExpirationMs: number;
  /** Whether live workers hand partitions over cooperatively (`--handover`). */
  handover: boolean;
}

const CONFIGS: Config[] = [
  {
    name: "defaults",
    strategy: WORKER_DEFAULTS.strategy,
    updateIntervalMs: Math.round(WORKER_DEFAULTS.updateIntervalMs * scale),
    ownershipExpirationMs: Math.round(WORKER_DEFAULTS.ownershipExpirationMs * scale),
    handover: true,
  },
  {
    name: "sdk-defaults",
    strategy: "balanced",
    updateIntervalMs: Math.round(10_000 * scale),
    ownershipExpirationMs: Math.round(60_000 * scale),
    handover: false,
  },
];

/** Seconds, or undefined when the cap ended the wait. */
type Seconds = number | undefined;

interface StartResult {
  running: Seconds;
  processing: Seconds;
  balanced: Seconds;
  /** Ownership changes seen in the three loops after balanced. */
  flaps: number;
}

interface FleetResults {
  starts: Map<number, StartResult>;
  addBalanced: Seconds;
  addPauseMedianMs: number | undefined;
  addPauseMaxMs: number | undefined;
  addDuplicates: number;
  /** Cooperative hand-overs the workers logged while the added worker took its share. */
  addHandOvers: number;
  addHandOverFellBack: number;
  addHandOverPauseMedianMs: number | undefined;
  addHandOverPauseMaxMs: number | undefined;
  failover: Seconds;
  failoverDuplicates: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** "w1:11 w2:11 w3:10 (free 0)": owner counts, for progress notes. */
function ownerCounts(view: FleetView): string {
  const counts = new Map<string, number>();
  for (const owner of view.owners.values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  const parts = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([o, n]) => `${o}:${n}`);
  return `${parts.join(" ")} (free ${partitions - view.owners.size})`;
}

/** Polls `view` until `done` holds or the cap passes; seconds since `since`, or undefined. */
async function until(
  watch: FleetWatch,
  since: number,
  what: string,
  done: (view: FleetView) => boolean,
): Promise<Seconds> {
  let nextNote = Date.now() + 5000;
  while (Date.now() - since < capMs) {
    const view = await watch.view();
    if (done(view)) return (view.at - since) / 1000;
    if (view.at >= nextNote) {
      note(`waiting for ${what}, ${((view.at - since) / 1000).toFixed(0)} s: ${ownerCounts(view)}`);
      nextNote = view.at + 5000;
    }
    await sleep(POLL_MS);
  }
  return undefined;
}

/** Ownership changes over `ms`, polled. */
async function countFlaps(watch: FleetWatch, ms: number): Promise<number> {
  let before = await watch.owners();
  let flaps = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sleep(POLL_MS);
    const now = await watch.owners();
    for (const [p, owner] of now) if (before.has(p) && before.get(p) !== owner) flaps += 1;
    before = now;
  }
  return flaps;
}

interface Fleet {
  fleet: WorkerFleet;
  watch: FleetWatch;
  /** The log files of every worker started so far. */
  logFiles(): string[];
}

async function newFleet(stack: BenchStack, config: Config, label: string, dir: string): Promise<Fleet> {
  const containerName = await stack.container(`${label}-${Date.now().toString(36)}`);
  const fleetDir = join(dir, containerName);
  const fleet = new WorkerFleet({
    eventHubConnectionString: stack.eventHubsConnectionString,
    eventHubName: stack.hub,
    storageConnectionString: stack.storageConnectionString,
    containerName,
    ledgerDir: fleetDir,
    logDir: fleetDir,
    workerFlags: {
      "--strategy": config.strategy,
      "--update-interval-ms": String(config.updateIntervalMs),
      "--ownership-expiration-ms": String(config.ownershipExpirationMs),
      "--max-wait-time-ms": "250",
      "--start-position": "latest",
      "--metrics-port": "off",
      "--handover": String(config.handover),
    },
    logger: silentLogger(),
  });
  const container = new ContainerClient(stack.storageConnectionString, containerName);
  const watch = new FleetWatch(container, stack.hub, config.ownershipExpirationMs, () =>
    fleet.started.map((id) => fleet.ledgerFile(id)),
  );
  return { fleet, watch, logFiles: () => fleet.started.map((id) => join(fleetDir, `${id}.log`)) };
}

async function startTogether(f: Fleet, config: Config, size: number): Promise<StartResult> {
  const since = Date.now();
  const launched = Array.from({ length: size }, () => f.fleet.launch());
  const ready = Promise.all(launched.map((l) => l.ready)).then(() => (Date.now() - since) / 1000);
  const processing = await until(
    f.watch,
    since,
    "all processing",
    (v) => latestSince(v.entries, since).size === partitions,
  );
  const balanced = await until(
    f.watch,
    since,
    "balanced",
    (v) => isBalanced(v.owners, partitions, f.fleet.running()) && ownersProcessing(v, partitions, since),
  );
  const running = await ready;
  const flaps = balanced === undefined ? 0 : await countFlaps(f.watch, 3 * config.updateIntervalMs);
  return { running, processing, balanced, flaps };
}

type AddResults = Pick<
  FleetResults,
  | "addBalanced"
  | "addPauseMedianMs"
  | "addPauseMaxMs"
  | "addDuplicates"
  | "addHandOvers"
  | "addHandOverFellBack"
  | "addHandOverPauseMedianMs"
  | "addHandOverPauseMaxMs"
>;

async function addOne(f: Fleet): Promise<AddResults> {
  const since = Date.now();
  const before = duplicateCount((await f.watch.view()).entries);
  const { id } = f.fleet.launch();
  const addBalanced = await until(
    f.watch,
    since,
    "balanced with the added worker",
    (v) =>
      isBalanced(v.owners, partitions, f.fleet.running()) &&
      ownersProcessing(v, partitions, since) &&
      [...v.owners.values()].includes(id),
  );
  const view = await f.watch.view();
  const pauses = movePauses(view.entries, since);
  const handOvers = await handOversLogged(f.logFiles(), since);
  const handOverPauses = handOvers.pausesMs;
  return {
    addBalanced,
    addPauseMedianMs: pauses.length > 0 ? median(pauses) : undefined,
    addPauseMaxMs: pauses.length > 0 ? Math.max(...pauses) : undefined,
    addDuplicates: duplicateCount(view.entries) - before,
    addHandOvers: handOvers.completed,
    addHandOverFellBack: handOvers.fellBack,
    addHandOverPauseMedianMs: handOverPauses.length > 0 ? median(handOverPauses) : undefined,
    addHandOverPauseMaxMs: handOverPauses.length > 0 ? Math.max(...handOverPauses) : undefined,
  };
}

async function killNewest(f: Fleet): Promise<Pick<FleetResults, "failover" | "failoverDuplicates">> {
  const victim = f.fleet.started.at(-1) as string;
  const owned = [...(await f.watch.owners())].filter(([, o]) => o === victim).map(([p]) => p);
  const before = duplicateCount((await f.watch.view()).entries);
  const since = Date.now();
  await f.fleet.kill(victim);
  const failover = await until(f.watch, since, "the killed worker's partitions", (v) => {
    const latest = latestSince(v.entries, since);
    return owned.every((p) => latest.get(p) !== undefined && latest.get(p)?.w !== victim);
  });
  return { failover, failoverDuplicates: duplicateCount((await f.watch.view()).entries) - before };
}

async function runConfig(stack: BenchStack, config: Config, dir: string): Promise<FleetResults> {
  const starts = new Map<number, StartResult>();
  let rest: Omit<FleetResults, "starts"> | undefined;
  for (const size of fleetSizes) {
    const f = await newFleet(stack, config, `${config.name}-${size}`, dir);
    try {
      const start = await startTogether(f, config, size);
      starts.set(size, start);
      note(`${config.name}, ${size} worker(s): ${JSON.stringify(start)}`);
      if (size === 3) {
        const added = await addOne(f);
        note(`${config.name}, add one to 3: ${JSON.stringify(added)}`);
        const killed = await killNewest(f);
        note(`${config.name}, kill -9 the added one: ${JSON.stringify(killed)}`);
        rest = { ...added, ...killed };
      }
    } finally {
      await f.fleet.stopAll(15_000);
    }
  }
  const none: Omit<FleetResults, "starts"> = {
    addBalanced: undefined,
    addPauseMedianMs: undefined,
    addPauseMaxMs: undefined,
    addDuplicates: 0,
    addHandOvers: 0,
    addHandOverFellBack: 0,
    addHandOverPauseMedianMs: undefined,
    addHandOverPauseMaxMs: undefined,
    failover: undefined,
    failoverDuplicates: 0,
  };
  return { starts, ...(rest ?? none) };
}

async function main(): Promise<void> {
  const stack = await startBenchStack({ partitionCount: partitions, consumerGroups: [] });
  const dir = await mkdtemp(join(tmpdir(), "ehw-bench-balance-"));
  const trickle = startTrickle(stack.eventHubsConnectionString, stack.hub, partitions, TRICKLE_MS);
  try {
    const results = new Map<Config["name"], FleetResults>();
    const chosen = (values.configs ?? "").split(",");
    for (const config of CONFIGS.filter((c) => chosen.includes(c.name))) {
      results.set(config.name, await runConfig(stack, config, dir));
    }
    report(results);
  } finally {
    await trickle.stop();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The table's steps: label and how to read the figure from one configuration's results. */
function steps(): Array<[string, (r: FleetResults) => string | number | undefined]> {
  const s = (n: number | undefined) => (n === undefined ? "capped" : round(n, 1));
  const perSize = fleetSizes.flatMap(
    (size): Array<[string, (r: FleetResults) => string | number | undefined]> => [
      [`${size} started: all running (s)`, (r) => s(r.starts.get(size)?.running)],
      [`${size} started: all processing (s)`, (r) => s(r.starts.get(size)?.processing)],
      [`${size} started: balanced (s)`, (r) => s(r.starts.get(size)?.balanced)],
      [`${size} started: flaps in 3 loops`, (r) => r.starts.get(size)?.flaps],
    ],
  );
  if (!fleetSizes.includes(3)) return perSize;
  return [
    ...perSize,
    ["3 + 1 added: balanced (s)", (r) => s(r.addBalanced)],
    ["3 + 1 added: pause per moved partition, median ms", (r) => r.addPauseMedianMs],
    ["3 + 1 added: pause, max ms", (r) => r.addPauseMaxMs],
    ["3 + 1 added: duplicates", (r) => r.addDuplicates],
    ["3 + 1 added: cooperative hand-overs", (r) => r.addHandOvers],
    ["3 + 1 added: hand-overs fallen back to a steal", (r) => r.addHandOverFellBack],
    ["3 + 1 added: hand-over pause (stop → claim), median ms", (r) => r.addHandOverPauseMedianMs],
    ["3 + 1 added: hand-over pause (stop → claim), max ms", (r) => r.addHandOverPauseMaxMs],
    ["kill -9 the added: processing again (s)", (r) => s(r.failover)],
    ["kill -9 the added: duplicates", (r) => r.failoverDuplicates],
  ];
}

function report(results: Map<Config["name"], FleetResults>): void {
  const ran = CONFIGS.filter((c) => results.has(c.name));
  printTable(
    steps().map(([step, read]) => ({
      step,
      ...Object.fromEntries(ran.map((c) => [c.name, read(results.get(c.name) as FleetResults)])),
    })),
  );
  console.log("");
  console.log(
    `intervals × ${scale}: ` +
      ran
        .map((c) => `${c.name} ${c.strategy} ${c.updateIntervalMs} / ${c.ownershipExpirationMs} ms`)
        .join(", ") +
      " (loop / expiry)",
  );
  console.log(
    "after adding a worker, partitions move by cooperative hand-over where --handover is true " +
      `(${
        ran
          .filter((c) => c.handover)
          .map((c) => c.name)
          .join(", ") || "none"
      }), else by a steal`,
  );
  const figures = (r: FleetResults) => ({
    ...r,
    starts: Object.fromEntries(fleetSizes.map((n) => [n, r.starts.get(n)])),
  });
  printFigures("balance", {
    scale,
    partitions,
    handover: Object.fromEntries(ran.map((c) => [c.name, c.handover])),
    ...Object.fromEntries(ran.map((c) => [c.name, figures(results.get(c.name) as FleetResults)])),
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
    cpus: availableParallelism(),
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
