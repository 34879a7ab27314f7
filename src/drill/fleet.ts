/**
 * The drill's worker processes: each an `ehw run` child with the ledger handler writing
 * `<ledgerDir>/ledger-<id>.jsonl`, its id as owner id, and its stdout kept in
 * `<logDir>/<id>.log`. Workers are signalled by PID only (through ManagedChild).
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ProcessError } from "../common/errors.js";
import { childEnvironment } from "../config/process.js";
import { type ChildExit, type ManagedChild, spawnChild } from "../local/child.js";
import { ehwCommand } from "../local/cli-command.js";
import type { Logger } from "../observability/logger.js";

/** Where and how the workers run. */
export interface FleetOptions {
  /** Namespace connection string of the hub (passed through the environment, never argv). */
  readonly eventHubConnectionString: string;
  readonly eventHubName: string;
  /** Storage connection string (passed through the environment, never argv). */
  readonly storageConnectionString: string;
  readonly containerName: string;
  /** Directory of the ledger files. */
  readonly ledgerDir: string;
  /** Directory of the workers' output logs. */
  readonly logDir: string;
  /** Extra `ehw run` flags (flag → value). */
  readonly workerFlags: Readonly<Record<string, string>>;
  /** Milliseconds a worker may take to log "worker running"; default 90000. */
  readonly readyTimeoutMs?: number;
  readonly logger: Logger;
}

interface FleetMember {
  readonly id: string;
  readonly child: ManagedChild;
  readonly log: WriteStream;
}

/** Whether an `ehw run` output line is its "worker running" line. */
export function isRunningLine(text: string): boolean {
  if (!text.startsWith("{")) return false;
  try {
    return (JSON.parse(text) as { msg?: unknown }).msg === "worker running";
  } catch {
    return false;
  }
}

/** "signal SIGKILL" / "code 0". */
export function describeExit(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/** The running and finished workers of one drill. */
export class WorkerFleet {
  private readonly members = new Map<string, FleetMember>();
  private readonly order: string[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly readyIds = new Set<string>();
  private failure: unknown;
  private nextNumber = 1;
  private stopped = false;

  constructor(private readonly options: FleetOptions) {}

  /** Ids of every worker started, in start order. */
  get started(): readonly string[] {
    return this.order;
  }

  /** Ids of the workers whose process runs. */
  running(): string[] {
    return this.order.filter((id) => this.members.get(id)?.child.running === true);
  }

  /** Ledger file of a worker. */
  ledgerFile(id: string): string {
    return join(this.options.ledgerDir, `ledger-${id}.jsonl`);
  }

  /** Starts the next worker (`w1`, `w2`, …) and resolves once it logged "worker running". */
  async start(): Promise<string> {
    const launched = this.launch();
    await launched.ready;
    return launched.id;
  }

  /**
   * Starts the next worker without waiting for it: the id at once, readiness as a promise (which
   * rejects, with the worker's last output, when it does not start). A worker counts as
   * {@link ready} once it logged "worker running".
   */
  launch(): { id: string; ready: Promise<void> } {
    const id = `w${this.nextNumber++}`;
    this.order.push(id);
    const ready = this.spawn(id);
    this.pending.add(ready);
    ready.then(
      () => this.pending.delete(ready),
      (err: unknown) => {
        this.pending.delete(ready);
        this.failure ??= err;
      },
    );
    return { id, ready };
  }

  /** Ids of the workers that are running and have logged "worker running". */
  ready(): string[] {
    return this.running().filter((id) => this.readyIds.has(id));
  }

  /** Waits for every launched worker's start to settle; rejects with the first failure. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    if (this.failure !== undefined) throw this.failure;
  }

  private async spawn(id: string): Promise<void> {
    const { options } = this;
    await mkdir(options.logDir, { recursive: true });
    const args = [
      "run",
      "--eventhub-name",
      options.eventHubName,
      "--container-name",
      options.containerName,
      "--handler",
      "ledger",
      "--ledger-file",
      this.ledgerFile(id),
      "--owner-id",
      id,
      "--log-level",
      "info",
      ...Object.entries(options.workerFlags).flat(),
    ];
    const { command, args: fullArgs } = ehwCommand(args);
    const log = createWriteStream(join(options.logDir, `${id}.log`), { flags: "a" });
    let child: ManagedChild | undefined;
    try {
      child = await spawnChild({
        name: `worker-${id}`,
        command,
        args: fullArgs,
        env: childEnvironment({
          EHW_EVENTHUB_CONNECTION_STRING: options.eventHubConnectionString,
          EHW_STORAGE_CONNECTION_STRING: options.storageConnectionString,
        }),
        logger: options.logger,
        onLine: (line) => log.write(`${line.text}\n`),
      });
    } catch (err) {
      log.end();
      throw err;
    }
    // Registered before it is ready, so that stopAll stops a worker that is still starting.
    this.members.set(id, { id, child, log });
    await child.waitUntilReady({
      line: (line) => line.stream === "stdout" && isRunningLine(line.text),
      timeoutMs: options.readyTimeoutMs ?? 90_000,
      what: 'the "worker running" log line',
    });
    this.readyIds.add(id);
    options.logger.info({ workerId: id, pid: child.pid }, "worker started");
  }

  private member(id: string): FleetMember {
    const member = this.members.get(id);
    if (member === undefined) throw new ProcessError(`drill: no worker ${id}`);
    return member;
  }

  /** SIGKILLs a worker and waits until it is gone. */
  async kill(id: string): Promise<ChildExit> {
    return this.member(id).child.kill();
  }

  /** SIGTERMs a worker and waits for it to drain and exit (SIGKILL after `timeoutMs`). */
  async terminate(id: string, timeoutMs: number): Promise<ChildExit> {
    return this.member(id).child.stop({ signal: "SIGTERM", timeoutMs });
  }

  /** Stops every running worker (SIGTERM, SIGKILL after `timeoutMs`) and closes the logs. */
  async stopAll(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const members = [...this.members.values()];
    await Promise.allSettled(members.map((m) => m.child.stop({ timeoutMs })));
    await Promise.all(members.map((m) => new Promise<void>((resolve) => m.log.end(() => resolve()))));
  }
}
