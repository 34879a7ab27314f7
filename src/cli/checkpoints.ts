/**
 * `ehw checkpoints list` and `ehw checkpoints reset`: the consumer group's checkpoints, and moving
 * them so that workers start at a chosen position.
 *
 * Output contract: stdout carries the list, the plan and the outcome (one JSON document with
 * `--json`); refusals and errors go to stderr. Exit codes: 0 done, 1 something could not be read or
 * written (a partial reset says which partitions were written), 2 a bad command line or setting,
 * 3 reset refused because live owners hold chosen partitions.
 */
import { ConfigError } from "../common/errors.js";
import {
  applyReset,
  checkContainer,
  checkpointListJson,
  choosePartitions,
  describeLiveOwners,
  type InspectClients,
  parseResetTarget,
  planReset,
  type ResetPlan,
  type ResetTarget,
  readCheckpoints,
  readPartitionIds,
  renderCheckpointList,
  renderRefusal,
  renderResetOutcome,
  renderResetPlan,
  resetJson,
} from "../inspect/index.js";
import {
  CONNECTION_HELP,
  EXIT_FAILED,
  EXIT_USAGE,
  readInspectCommand,
  reportError,
  withInspectClients,
} from "./status.js";

/** Exit code: the reset was refused because live owners hold chosen partitions. */
export const EXIT_REFUSED = 3;

const HELP = `usage: ehw checkpoints list [--json] [connection options]
       ehw checkpoints reset --to earliest|latest|<ISO time>|seq:<n> [--partition ID]... [--dry-run] [--force] [--json] [connection options]

list    prints the consumer group's checkpoints: partition, sequence number, offset.
reset   writes, for each chosen partition (all by default; --partition repeats), the checkpoint that
        makes a worker start at the requested position, and shows before → after per partition:
          earliest    the first retained event (checkpoint offset "-1", the service's "before the
                      first event"; the checkpoint is not deleted, which would let each worker's
                      own startPosition decide)
          latest      after the last event enqueued when the reset runs
          <ISO time>  the first event enqueued at or after the time, e.g. 2024-05-01T12:00:00Z
          seq:<n>     the event with sequence number n (checkpoint n-1 with its offset, read from
                      the partition); a number before the first retained event starts there
        The whole plan is computed (reading events where an offset is needed) before anything is
        written; if a write fails, the output names the partitions written and those not written.
        A written partition's pending hand-over request is removed too: left behind, it would move
        the partition again as soon as the asking worker runs.

  --to POSITION     where workers should start (reset; required)
  --partition ID    reset only this partition; repeat for more (default: all)
  --dry-run         show the plan, write nothing
  --force           reset even partitions a live owner holds (an owner that renewed within the
                    ownership expiry); use only when those owners are known to be gone
  --json            print one JSON document
  -h, --help

Running workers keep their position in memory and overwrite the checkpoint at their next one: a
reset takes effect when a partition is next claimed. Stop the fleet first (a worker that stops
cleanly relinquishes its partitions; a crashed worker's ownerships expire after the expiry).

${CONNECTION_HELP}

Exit codes: 0 done; 1 something could not be read or written; 2 bad command line or setting;
3 refused: live owners hold chosen partitions.`;

/** Entry point of `ehw checkpoints`; `env` defaults to the process environment. */
export async function main(argv: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "list") return list(rest, env);
  if (sub === "reset") return reset(rest, env);
  if (sub === "--help" || sub === "-h" || sub === "help") {
    console.log(HELP);
    return 0;
  }
  console.error(
    `ehw checkpoints: ${sub === undefined ? "missing subcommand" : `unknown subcommand '${sub}'`}: use list or reset\n\n${HELP}`,
  );
  return EXIT_USAGE;
}

async function list(argv: string[], env: NodeJS.ProcessEnv | undefined): Promise<number> {
  const read = readInspectCommand("checkpoints list", argv, { json: { type: "boolean" } }, HELP, env);
  if ("exitCode" in read) return read.exitCode;
  return withInspectClients("checkpoints list", read.config, async (clients, source) => {
    await checkContainer(clients);
    const checkpoints = await readCheckpoints(clients);
    console.log(
      read.flags.json === true
        ? JSON.stringify(checkpointListJson(source, checkpoints), null, 2)
        : renderCheckpointList(source, checkpoints),
    );
    return 0;
  });
}

const RESET_FLAGS = {
  to: { type: "string" },
  partition: { type: "string", multiple: true },
  "dry-run": { type: "boolean" },
  force: { type: "boolean" },
  json: { type: "boolean" },
} as const;

const RESET = "checkpoints reset";

/** A parsed reset command line. */
interface ResetArgs {
  readonly target: ResetTarget;
  readonly requested: string[];
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly ownershipExpirationMs: number;
}

async function reset(argv: string[], env: NodeJS.ProcessEnv | undefined): Promise<number> {
  const read = readInspectCommand(RESET, argv, RESET_FLAGS, HELP, env);
  if ("exitCode" in read) return read.exitCode;
  const { config, flags } = read;
  let target: ResetTarget;
  try {
    if (typeof flags.to !== "string") {
      throw new ConfigError("--to is required: earliest, latest, an ISO-8601 time or seq:<n>", {
        context: { setting: "--to" },
      });
    }
    target = parseResetTarget(flags.to);
  } catch (err) {
    return reportError(RESET, err, EXIT_USAGE);
  }
  const args: ResetArgs = {
    target,
    requested: Array.isArray(flags.partition) ? flags.partition : [],
    force: flags.force === true,
    dryRun: flags["dry-run"] === true,
    json: flags.json === true,
    ownershipExpirationMs: config.ownershipExpirationMs,
  };
  return withInspectClients(RESET, config, async (clients, source) => {
    const plan = await planOrReport(clients, args);
    if (typeof plan === "number") return plan;
    if (plan.refused) {
      if (args.json) printJson(resetJson(source, plan, args.dryRun, undefined));
      console.error(`ehw ${RESET}: ${renderRefusal(plan)}`);
      return EXIT_REFUSED;
    }
    if (!args.json) console.log(renderResetPlan(plan, args.force));
    if (args.force) {
      for (const line of describeLiveOwners(plan.liveOwners)) {
        console.error(
          `ehw ${RESET}: --force: ${line}; a live worker overwrites the reset at its next checkpoint`,
        );
      }
    } else if (plan.liveOwners.length > 0) {
      // Only a dry run gets here with live owners: it shows the plan and what the real run would say.
      console.error(
        `ehw ${RESET}: dry run; without --force the reset itself would say:\n${renderRefusal(plan)}`,
      );
    }
    if (args.dryRun) {
      if (args.json) printJson(resetJson(source, plan, true, undefined));
      else console.log("dry run: nothing written");
      return 0;
    }
    const outcome = await applyReset(clients, plan);
    if (args.json) printJson(resetJson(source, plan, false, outcome));
    const text = renderResetOutcome(outcome);
    if (outcome.failed.length > 0) {
      console.error(`ehw ${RESET}: ${text}`);
      return EXIT_FAILED;
    }
    if (!args.json) console.log(text);
    return 0;
  });
}

/** The plan, or the exit code after reporting why there is none. */
async function planOrReport(clients: InspectClients, args: ResetArgs): Promise<ResetPlan | number> {
  let partitionIds: string[];
  try {
    partitionIds = choosePartitions(args.requested, await readPartitionIds(clients));
  } catch (err) {
    return reportError(RESET, err, err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED);
  }
  try {
    // A dry run writes nothing, so live owners do not stop it from computing the plan.
    return await planReset(clients, { ...args, force: args.force || args.dryRun, partitionIds });
  } catch (err) {
    // The plan is complete before the first write: a failure here leaves every checkpoint as it was.
    const code = reportError(RESET, err, EXIT_FAILED);
    console.error(`ehw ${RESET}: nothing was written`);
    return code;
  }
}

function printJson(document: Record<string, unknown>): void {
  console.log(JSON.stringify(document, null, 2));
}
