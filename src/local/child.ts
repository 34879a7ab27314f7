/**
 * A child process we start and must be able to stop: Azurite, the emulator, worker processes.
 * It is never detached, is signalled only by its own PID, keeps a bounded tail of its output for
 * error messages, and is SIGKILLed when this process exits so that no test leaves one behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { ProcessError } from "../common/errors.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import {
  DEFAULT_SECRET_FLAGS,
  formatCommandLine,
  LineSplitter,
  type OutputLine,
  type OutputStream,
  OutputTail,
  type OutputTailOptions,
} from "./output.js";

/** How a child process ended: its exit code, or the signal that ended it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options of {@link spawnChild}. */
export interface SpawnChildOptions {
  /** Short name for logs and error messages, e.g. "azurite". */
  name: string;
  /** Executable; usually `process.execPath`. */
  command: string;
  /** Arguments after the executable. */
  args: readonly string[];
  /** Working directory; default: this process's. */
  cwd?: string;
  /** Complete environment of the child; default: inherited from this process. */
  env?: NodeJS.ProcessEnv;
  /** Logger; the child's lines go to it at debug level. Default: silent. */
  logger?: Logger;
  /** Called for every output line, from the first one on. */
  onLine?: (line: OutputLine) => void;
  /** Bounds of the kept output tail; default 200 lines of at most 2000 characters. */
  tail?: OutputTailOptions;
  /** Flags whose following argument is redacted in messages; default `--key` and friends. */
  secretFlags?: readonly string[];
}

/** What "ready" means for {@link ManagedChild.waitUntilReady}; every given condition must pass. */
export interface ReadyCheck {
  /** An output line for which this returns true must have appeared (lines already kept count). */
  line?: (line: OutputLine) => boolean;
  /** Polled (after `line` passed) until it resolves true; a throw counts as "not yet". */
  probe?: () => Promise<boolean>;
  /** Give up after this many milliseconds; default 30000. */
  timeoutMs?: number;
  /** Pause between probes in milliseconds; default 100. */
  probeIntervalMs?: number;
  /** Says what is awaited, for the error message; default "its ready signal". */
  what?: string;
}

/** Options of {@link ManagedChild.stop}. */
export interface StopOptions {
  /** Signal sent first; default "SIGTERM". */
  signal?: NodeJS.Signals;
  /** Milliseconds to wait for exit before SIGKILL; default 10000. */
  timeoutMs?: number;
}

/** Milliseconds to wait for a SIGKILLed process to be reaped before giving up. */
const KILL_WAIT_MS = 10_000;
/** Milliseconds to wait for a dead child's output to drain (a grandchild may hold the pipes). */
const DRAIN_WAIT_MS = 1_000;

const liveChildren = new Set<ManagedChild>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Children are not detached, but a parent that exits does not take them along; kill ours.
  process.on("exit", () => {
    for (const child of liveChildren) child.signal("SIGKILL");
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A started child process. Create with {@link spawnChild}. */
export class ManagedChild {
  /** The child's PID (the server itself, never a wrapper). */
  readonly pid: number;
  /** Name used in logs and errors. */
  readonly name: string;
  /** The command line with secrets redacted. */
  readonly commandLine: string;
  /** Resolves once the process has exited; never rejects. */
  readonly exited: Promise<ChildExit>;
  private readonly closed: Promise<void>;
  private readonly tail: OutputTail;
  private readonly listeners = new Set<(line: OutputLine) => void>();
  private readonly logger: Logger;
  private exitStatus: ChildExit | undefined;

  /** @internal Use {@link spawnChild}. */
  constructor(child: ChildProcess, options: SpawnChildOptions) {
    if (child.pid === undefined) throw new ProcessError(`${options.name}: child process has no PID`);
    this.pid = child.pid;
    this.name = options.name;
    this.commandLine = formatCommandLine(
      options.command,
      options.args,
      options.secretFlags ?? DEFAULT_SECRET_FLAGS,
    );
    this.tail = new OutputTail(options.tail);
    this.logger = (options.logger ?? silentLogger()).child({ component: options.name, pid: this.pid });
    if (options.onLine) this.listeners.add(options.onLine);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitStatus = { code, signal };
        liveChildren.delete(this);
        this.logger.debug({ code, signal }, "process exited");
        resolve(this.exitStatus);
      });
    });
    this.closed = new Promise((resolve) => child.once("close", () => resolve()));
    child.on("error", (err) => this.logger.warn({ err }, "child process error"));
    this.attach(child.stdout, "stdout");
    this.attach(child.stderr, "stderr");
    liveChildren.add(this);
    installExitHook();
  }

  /** Whether the process has not exited yet. */
  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** How the process ended, once it has. */
  get exit(): ChildExit | undefined {
    return this.exitStatus;
  }

  /** Adds a listener for every later output line; returns a function that removes it. */
  onLine(listener: (line: OutputLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The kept output lines, oldest first; at most the last `count` when given. */
  outputTail(count?: number): OutputLine[] {
    return this.tail.lines(count);
  }

  /** Sends `signal` to the PID unless the process has exited. Returns whether it was sent. */
  signal(signal: NodeJS.Signals): boolean {
    if (this.exitStatus !== undefined) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
      throw new ProcessError(`${this.name}: cannot send ${signal} to PID ${this.pid}`, { cause: err });
    }
  }

  /** Sends `signal` (default SIGTERM), waits for exit, and SIGKILLs after `timeoutMs` (default 10 s). */
  async stop(options: StopOptions = {}): Promise<ChildExit> {
    if (this.exitStatus !== undefined) return this.exitStatus;
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.signal(options.signal ?? "SIGTERM");
    const exit = await withTimeout(this.exited, timeoutMs);
    if (exit !== undefined) return this.drained(exit);
    this.logger.warn({ timeoutMs }, "process did not exit in time; sending SIGKILL");
    return this.kill();
  }

  /** SIGKILLs the process and waits until it is gone. */
  async kill(): Promise<ChildExit> {
    if (this.exitStatus !== undefined) return this.exitStatus;
    this.signal("SIGKILL");
    const exit = await withTimeout(this.exited, KILL_WAIT_MS);
    if (exit === undefined) {
      throw new ProcessError(`${this.name}: PID ${this.pid} did not exit ${KILL_WAIT_MS} ms after SIGKILL`);
    }
    return this.drained(exit);
  }

  /** Waits (briefly) for the last output, so that callers reading the tail after a stop see it. */
  private async drained(exit: ChildExit): Promise<ChildExit> {
    await withTimeout(this.closed, DRAIN_WAIT_MS);
    return exit;
  }

  /**
   * Waits until `check` passes. If the process exits first or the timeout passes, the process is
   * killed and a {@link ProcessError} names the command line and quotes the last output lines.
   */
  async waitUntilReady(check: ReadyCheck): Promise<void> {
    const timeoutMs = check.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const what = check.what ?? "its ready signal";
    const line = check.line;
    let lineSeen = line === undefined || this.tail.lines().some(line);
    let lineArrived: () => void = () => {};
    const lineEvent = new Promise<void>((resolve) => {
      lineArrived = resolve;
    });
    const unsubscribe = this.onLine((l) => {
      if (!lineSeen && line?.(l)) {
        lineSeen = true;
        lineArrived();
      }
    });
    let lastProbeError: unknown;
    try {
      for (;;) {
        if (this.exitStatus !== undefined) break;
        if (lineSeen) {
          try {
            if (check.probe === undefined || (await check.probe())) return;
          } catch (err) {
            lastProbeError = err;
          }
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) break;
        const pause = lineSeen ? Math.min(check.probeIntervalMs ?? 100, remaining) : remaining;
        // Wake early on exit or on the awaited line; the timer is cleared so none outlives us.
        await withTimeout(Promise.race([this.exited, lineEvent]), pause);
      }
    } finally {
      unsubscribe();
    }
    throw await this.failStart(what, timeoutMs, lastProbeError);
  }

  private async failStart(what: string, timeoutMs: number, cause: unknown): Promise<ProcessError> {
    const exitedEarly = this.exitStatus !== undefined;
    if (!exitedEarly) {
      this.logger.warn({ timeoutMs, what }, "process not ready in time; killing it");
      await this.kill();
    }
    await withTimeout(this.closed, DRAIN_WAIT_MS);
    const exit = this.exitStatus;
    const how = exit?.signal ? `signal ${exit.signal}` : `code ${exit?.code}`;
    const headline = exitedEarly
      ? `${this.name} exited with ${how} before it was ready (waiting for ${what})`
      : `${this.name} was not ready within ${timeoutMs} ms (waiting for ${what}); killed it`;
    const output = this.tail.format(20);
    const message = `${headline}\n  command: ${this.commandLine}\n  last output:\n${output || "  (none)"}`;
    return new ProcessError(message, {
      cause,
      context: { pid: this.pid, exitCode: exit?.code, exitSignal: exit?.signal },
    });
  }

  private attach(stream: NodeJS.ReadableStream | null, name: OutputStream): void {
    if (stream === null) return;
    const splitter = new LineSplitter();
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      for (const text of splitter.push(chunk)) this.emitLine({ stream: name, text });
    });
    stream.on("end", () => {
      const rest = splitter.flush();
      if (rest !== undefined) this.emitLine({ stream: name, text: rest });
    });
  }

  private emitLine(line: OutputLine): void {
    this.tail.push(line);
    this.logger.debug({ stream: line.stream, line: line.text }, "output");
    for (const listener of this.listeners) {
      try {
        listener(line);
      } catch (err) {
        this.logger.warn({ err }, "output line listener threw");
      }
    }
  }
}

/**
 * Starts a child process (not detached; stdin ignored; stdout and stderr captured line by line)
 * and resolves once it has been spawned. A command that cannot be started rejects with a
 * {@link ProcessError}.
 */
export async function spawnChild(options: SpawnChildOptions): Promise<ManagedChild> {
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: false,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      const commandLine = formatCommandLine(options.command, options.args, options.secretFlags);
      reject(new ProcessError(`${options.name}: cannot start ${commandLine}`, { cause: err }));
    };
    child.once("error", onError);
    child.once("spawn", () => {
      child.off("error", onError);
      resolve();
    });
  });
  return new ManagedChild(child, options);
}

/** Options of {@link startChild}: how to start the process and when it is ready. */
export interface StartChildOptions extends SpawnChildOptions {
  /** What "ready" means; see {@link ReadyCheck}. */
  ready: ReadyCheck;
}

/** {@link spawnChild} then {@link ManagedChild.waitUntilReady}; on failure no process is left. */
export async function startChild(options: StartChildOptions): Promise<ManagedChild> {
  const child = await spawnChild(options);
  await child.waitUntilReady(options.ready);
  return child;
}
