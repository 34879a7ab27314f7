/**
 * Keys of the live view → actions, without I/O. `a` adds a worker; `s` (stop, SIGTERM) and `k`
 * (kill, SIGKILL) ask which worker: its number and Enter, or Enter alone for the newest; Esc
 * cancels. `q` and Ctrl-C quit (Ctrl-C also while asking).
 */

/** What the supervisor should do after a key. */
export type DevAction =
  | { kind: "add" }
  | { kind: "stop"; target: number | "newest" }
  | { kind: "kill"; target: number | "newest" }
  | { kind: "quit" };

/** Whether the view waits for a worker number, and for which verb. */
export type KeyState = { mode: "normal" } | { mode: "pick"; verb: "stop" | "kill"; digits: string };

/** The result of one key: the next state, an action to run, and the line to show under the view. */
export interface KeyResult {
  state: KeyState;
  action: DevAction | undefined;
  /** The prompt while picking; undefined when nothing changes on screen. */
  message: string | undefined;
}

/** The state before the first key. */
export const INITIAL_KEY_STATE: KeyState = { mode: "normal" };

const CTRL_C = "\u0003";
const ESCAPE = "\u001b";
const BACKSPACES = new Set(["\u007f", "\b"]);
const ENTERS = new Set(["\r", "\n"]);
/** Digits beyond this many cannot name a worker anyone started. */
const MAX_DIGITS = 6;

function prompt(verb: "stop" | "kill", digits: string): string {
  const what = verb === "stop" ? "stop (SIGTERM)" : "kill (SIGKILL)";
  return `${what} worker number: ${digits}_   (Enter alone = newest, Esc = cancel)`;
}

function pickKey(state: Extract<KeyState, { mode: "pick" }>, key: string): KeyResult {
  if (ENTERS.has(key)) {
    const target = state.digits === "" ? "newest" : Number(state.digits);
    return { state: INITIAL_KEY_STATE, action: { kind: state.verb, target }, message: undefined };
  }
  if (key === ESCAPE) return { state: INITIAL_KEY_STATE, action: undefined, message: "cancelled" };
  if (BACKSPACES.has(key)) {
    const digits = state.digits.slice(0, -1);
    return { state: { ...state, digits }, action: undefined, message: prompt(state.verb, digits) };
  }
  if (/^[0-9]$/.test(key) && state.digits.length < MAX_DIGITS) {
    const digits = state.digits + key;
    return { state: { ...state, digits }, action: undefined, message: prompt(state.verb, digits) };
  }
  return { state, action: undefined, message: prompt(state.verb, state.digits) };
}

/**
 * Handles one key (one character, or one escape sequence as raw-mode stdin delivers it; arrow
 * keys and other sequences are ignored).
 */
export function handleKey(state: KeyState, key: string): KeyResult {
  if (key === CTRL_C) return { state: INITIAL_KEY_STATE, action: { kind: "quit" }, message: undefined };
  if (key.length > 1 && key.startsWith(ESCAPE)) return { state, action: undefined, message: undefined };
  if (state.mode === "pick") return pickKey(state, key);
  switch (key) {
    case "a":
    case "A":
      return { state, action: { kind: "add" }, message: undefined };
    case "s":
    case "S":
      return {
        state: { mode: "pick", verb: "stop", digits: "" },
        action: undefined,
        message: prompt("stop", ""),
      };
    case "k":
    case "K":
      return {
        state: { mode: "pick", verb: "kill", digits: "" },
        action: undefined,
        message: prompt("kill", ""),
      };
    case "q":
    case "Q":
      return { state, action: { kind: "quit" }, message: undefined };
    default:
      return { state, action: undefined, message: undefined };
  }
}

/**
 * Splits one raw-mode stdin chunk into keys: pasted text arrives as one chunk, an escape
 * sequence (arrow keys) must stay whole.
 */
export function splitKeys(chunk: string): string[] {
  const keys: string[] = [];
  for (let i = 0; i < chunk.length; ) {
    if (chunk[i] === ESCAPE && chunk[i + 1] === "[") {
      let end = i + 2;
      while (end < chunk.length && !/[A-Za-z~]/.test(chunk[end] as string)) end++;
      keys.push(chunk.slice(i, end + 1));
      i = end + 1;
      continue;
    }
    keys.push(chunk[i] as string);
    i++;
  }
  return keys;
}

/** Worker numbers ("worker-3" → 3) the actions refer to. */
export function workerNumber(ownerId: string): number | undefined {
  const match = /^worker-(\d+)$/.exec(ownerId);
  return match === null ? undefined : Number(match[1]);
}

/**
 * The worker an action targets among `candidates` (owner ids of workers that can still be
 * stopped, oldest first): the newest, or the one with that number. Undefined when none fits.
 */
export function pickWorker(candidates: readonly string[], target: number | "newest"): string | undefined {
  if (target === "newest") return candidates.at(-1);
  return candidates.find((id) => workerNumber(id) === target);
}
