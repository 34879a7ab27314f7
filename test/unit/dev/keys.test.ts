import { describe, expect, it } from "vitest";
import {
  type DevAction,
  handleKey,
  INITIAL_KEY_STATE,
  type KeyState,
  pickWorker,
  splitKeys,
  workerNumber,
} from "../../../src/dev/keys.js";

/** Feeds keys one by one; returns the actions in order and the last state and message. */
function press(...keys: string[]): { actions: DevAction[]; state: KeyState; message: string | undefined } {
  let state: KeyState = INITIAL_KEY_STATE;
  let message: string | undefined;
  const actions: DevAction[] = [];
  for (const key of keys) {
    const result = handleKey(state, key);
    state = result.state;
    if (result.message !== undefined) message = result.message;
    if (result.action !== undefined) actions.push(result.action);
  }
  return { actions, state, message };
}

describe("handleKey", () => {
  it("adds a worker on a", () => {
    expect(press("a").actions).toEqual([{ kind: "add" }]);
  });

  it("quits on q and on Ctrl-C", () => {
    expect(press("q").actions).toEqual([{ kind: "quit" }]);
    expect(press("\u0003").actions).toEqual([{ kind: "quit" }]);
  });

  it("asks which worker on s, and Enter alone stops the newest", () => {
    const asked = press("s");
    expect(asked.actions).toEqual([]);
    expect(asked.state).toEqual({ mode: "pick", verb: "stop", digits: "" });
    expect(asked.message).toMatch(/stop \(SIGTERM\)/);
    expect(press("s", "\r").actions).toEqual([{ kind: "stop", target: "newest" }]);
  });

  it("kills the worker whose number was typed", () => {
    expect(press("k", "1", "2", "\r").actions).toEqual([{ kind: "kill", target: 12 }]);
    expect(press("k", "1", "2", "\u007f", "\n").actions).toEqual([{ kind: "kill", target: 1 }]);
  });

  it("cancels a pick on Esc and goes back to normal keys", () => {
    const result = press("k", "3", "\u001b");
    expect(result.actions).toEqual([]);
    expect(result.state).toEqual(INITIAL_KEY_STATE);
    expect(result.message).toBe("cancelled");
    expect(press("k", "\u001b", "a").actions).toEqual([{ kind: "add" }]);
  });

  it("treats letters while picking as nothing, but Ctrl-C still quits", () => {
    expect(press("s", "q", "a").actions).toEqual([]);
    expect(press("s", "\u0003").actions).toEqual([{ kind: "quit" }]);
  });

  it("ignores unknown keys and escape sequences", () => {
    expect(press("x", "\u001b[A", " ").actions).toEqual([]);
    expect(press("x").state).toEqual(INITIAL_KEY_STATE);
  });
});

describe("splitKeys", () => {
  it("splits pasted text into keys and keeps escape sequences whole", () => {
    expect(splitKeys("ak\r")).toEqual(["a", "k", "\r"]);
    expect(splitKeys("\u001b[Aa\u001b[1;5C")).toEqual(["\u001b[A", "a", "\u001b[1;5C"]);
    expect(splitKeys("\u001b")).toEqual(["\u001b"]);
  });
});

describe("pickWorker", () => {
  const running = ["worker-1", "worker-3", "worker-10"];

  it("picks the newest or the numbered one among those that can be stopped", () => {
    expect(pickWorker(running, "newest")).toBe("worker-10");
    expect(pickWorker(running, 3)).toBe("worker-3");
    expect(pickWorker(running, 2)).toBeUndefined();
    expect(pickWorker([], "newest")).toBeUndefined();
  });

  it("reads worker numbers from owner ids", () => {
    expect(workerNumber("worker-12")).toBe(12);
    expect(workerNumber("someone-else")).toBeUndefined();
  });
});
