/**
 * One `ehw dev` session from start to exit code: start the stack, print how to connect, show the
 * live view (terminal) or plain summaries (pipes, CI) until quit, stop everything, print the final
 * summary. Output goes through injected writers; the CLI decides which streams they are.
 */
import { EhwError } from "../common/errors.js";
import { SETTINGS } from "../config/worker.js";
import { redactSecrets } from "../observability/logger.js";
import { type DevAction, handleKey, INITIAL_KEY_STATE, type KeyState } from "./keys.js";
import type { DevOptions } from "./options.js";
import { type DevInfo, renderLiveView, renderSummary } from "./render.js";
import { type DevPid, DevStack } from "./stack.js";
import { LiveScreen, type ScreenInput, type ScreenOutput } from "./terminal.js";
import type { DevView } from "./view-model.js";

/** Where a session writes and reads, and what stops it. */
export interface DevSessionIO {
  /** Writes to standard output (banner, summaries, the final summary). */
  out: (text: string) => void;
  /** Writes to standard error (progress, errors). */
  err: (text: string) => void;
  /** The terminal for the live view; undefined for plain summaries. */
  terminal: { output: ScreenOutput; input: ScreenInput | undefined } | undefined;
  /** Aborted on the first SIGINT / SIGTERM: stop gracefully. */
  quit: AbortSignal;
  /** Aborted on a second signal: SIGKILL everything still running. */
  force: AbortSignal;
}

/** Milliseconds between samples (and live redraws). */
export const SAMPLE_INTERVAL_MS = 1000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

function describeError(err: unknown): string {
  if (err instanceof EhwError) return redactSecrets(err.message);
  if (err instanceof Error) return redactSecrets(`${err.name}: ${err.message}`);
  return redactSecrets(String(err));
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** The lines telling a person how to point their own code at the dev hub and storage. */
export function bannerLines(info: DevInfo): string[] {
  const vars: Array<[string, string]> = [
    [SETTINGS.eventHubConnectionString.env, info.eventHubConnectionString],
    [SETTINGS.eventHubName.env, info.hub],
    [SETTINGS.storageConnectionString.env, info.storageConnectionString],
    [SETTINGS.containerName.env, info.containerName],
  ];
  const traces = info.traces;
  return [
    `ehw dev: up. Data, ledgers and logs are in ${info.dataDir} (kept after exit).`,
    "Connect your own code or 'ehw run' to the same hub and checkpoint store:",
    ...vars.map(([name, value]) => `  export ${name}=${shellQuote(value)}`),
    ...(traces === undefined
      ? []
      : [
          traces.local
            ? `Workers export traces to ${traces.destination} (this stack's receiver; the view summarises them).`
            : `Workers export traces to ${traces.destination} (the collector the OTEL_* variables name).`,
        ]),
  ];
}

/** `pids: azurite=1 emulator=2 worker-1=3`: every process started, for scripts and tests. */
export function pidsLine(pids: readonly DevPid[]): string {
  return `pids: ${pids.map((p) => `${p.name}=${p.pid}`).join(" ")}`;
}

interface Display {
  show(view: DevView): void;
  close(): void;
}

class PlainDisplay implements Display {
  private lastSummaryAt = performance.now();
  private lastPids: string;

  constructor(
    private readonly stack: DevStack,
    private readonly io: DevSessionIO,
    private readonly intervalMs: number,
  ) {
    this.lastPids = pidsLine(stack.pids());
  }

  show(view: DevView): void {
    const pids = pidsLine(this.stack.pids());
    if (pids !== this.lastPids) {
      this.lastPids = pids;
      this.io.out(`${pids}\n`);
    }
    const now = performance.now();
    if (now - this.lastSummaryAt < this.intervalMs) return;
    this.lastSummaryAt = now;
    this.io.out(`${renderSummary(view).join("\n")}\n`);
  }

  close(): void {}
}

class LiveDisplay implements Display {
  private readonly screen: LiveScreen;
  private keyState: KeyState = INITIAL_KEY_STATE;
  private message: string | undefined;
  private lastView: DevView | undefined;

  constructor(
    private readonly stack: DevStack,
    terminal: NonNullable<DevSessionIO["terminal"]>,
    private readonly quit: () => void,
  ) {
    this.screen = new LiveScreen(terminal.output, terminal.input, (key) => this.onKey(key));
    this.screen.start();
  }

  show(view: DevView): void {
    this.lastView = view;
    this.redraw();
  }

  private redraw(): void {
    if (this.lastView === undefined) return;
    const { columns, rows } = this.screen.size();
    this.screen.draw(
      renderLiveView(this.lastView, this.stack.info, { columns, rows, color: true, message: this.message }),
    );
  }

  private onKey(key: string): void {
    const result = handleKey(this.keyState, key);
    this.keyState = result.state;
    if (result.message !== undefined) this.message = result.message;
    if (result.action !== undefined) this.run(result.action);
    this.redraw();
  }

  private run(action: DevAction): void {
    if (action.kind === "quit") {
      this.message = "quitting: stopping the producer, workers, emulator and Azurite…";
      this.quit();
      return;
    }
    this.message = action.kind === "add" ? "starting a worker…" : undefined;
    const show = (text: string) => {
      this.message = text;
      this.redraw();
    };
    this.stack.apply(action).then(
      (outcome) => {
        show(outcome.message);
        void outcome.settled?.then(show);
      },
      (err: unknown) => show(`failed: ${describeError(err)}`),
    );
  }

  close(): void {
    this.screen.close();
  }
}

async function startStack(options: DevOptions, io: DevSessionIO, quit: AbortController) {
  let fatal: string | undefined;
  const stack = await DevStack.start(options, {
    signal: quit.signal,
    onProgress: (text) => io.err(`ehw dev: ${text}\n`),
    onFatal: (text) => {
      fatal = text;
      quit.abort();
    },
  });
  return { stack, fatal: () => fatal };
}

async function sampleUntilQuit(
  stack: DevStack,
  display: Display,
  quit: AbortSignal,
): Promise<DevView | undefined> {
  let last: DevView | undefined;
  const quitting = new Promise<undefined>((resolve) => {
    if (quit.aborted) resolve(undefined);
    quit.addEventListener("abort", () => resolve(undefined), { once: true });
  });
  while (!quit.aborted) {
    const sampling = stack.view();
    // A sample stuck on an unresponsive dependency must not hold up quitting; its late outcome
    // is dropped (and must not become an unhandled rejection).
    sampling.catch(() => undefined);
    const view = await Promise.race([sampling, quitting]);
    if (view === undefined || quit.aborted) break;
    last = view;
    display.show(view);
    await sleep(SAMPLE_INTERVAL_MS, quit);
  }
  return last;
}

/** Runs one session; resolves with the exit code (0 after a quit, 1 after a failure). */
export async function runDevSession(options: DevOptions, io: DevSessionIO): Promise<number> {
  const quit = new AbortController();
  const onQuit = () => quit.abort();
  io.quit.addEventListener("abort", onQuit, { once: true });
  let started: Awaited<ReturnType<typeof startStack>>;
  try {
    started = await startStack(options, io, quit);
  } catch (err) {
    if (quit.signal.aborted) {
      io.err("ehw dev: stopped while starting; everything started was stopped\n");
      return 0;
    }
    io.err(`ehw dev: ${describeError(err)}\nehw dev: everything started was stopped\n`);
    return 1;
  }
  const { stack } = started;
  const onForce = () => void stack.kill();
  io.force.addEventListener("abort", onForce, { once: true });
  io.out(`${[...bannerLines(stack.info), pidsLine(stack.pids())].join("\n")}\n`);
  const display: Display =
    io.terminal === undefined
      ? new PlainDisplay(stack, io, options.summaryIntervalMs)
      : new LiveDisplay(stack, io.terminal, onQuit);
  const duration = options.durationMs === undefined ? undefined : setTimeout(onQuit, options.durationMs);
  let last: DevView | undefined;
  let failure: string | undefined;
  try {
    last = await sampleUntilQuit(stack, display, quit.signal);
  } catch (err) {
    // Whatever broke the view, the processes must still be stopped.
    failure = `the view failed: ${describeError(err)}`;
  } finally {
    clearTimeout(duration);
    display.close();
  }
  return finish(stack, io, last, started.fatal() ?? failure);
}

async function finish(
  stack: DevStack,
  io: DevSessionIO,
  last: DevView | undefined,
  fatal: string | undefined,
) {
  if (fatal !== undefined) io.err(`ehw dev: ${fatal}\n`);
  io.err("ehw dev: stopping the producer, workers, emulator and Azurite\n");
  let code = fatal === undefined ? 0 : 1;
  try {
    await stack.stop();
  } catch (err) {
    io.err(`ehw dev: ${describeError(err)}\n`);
    code = 1;
  }
  if (last !== undefined) io.out(`${renderSummary(last).join("\n")}\n`);
  io.out(`${pidsLine(stack.pids())}\n`);
  io.out(`ehw dev: stopped everything it started; data kept in ${stack.info.dataDir}\n`);
  return code;
}
