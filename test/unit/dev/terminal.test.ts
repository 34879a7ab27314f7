import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { LiveScreen, type ScreenInput } from "../../../src/dev/terminal.js";

class FakeInput extends EventEmitter implements ScreenInput {
  raw: boolean[] = [];
  paused = true;
  setRawMode(mode: boolean) {
    this.raw.push(mode);
  }
  setEncoding() {}
  resume() {
    this.paused = false;
  }
  pause() {
    this.paused = true;
  }
}

function fakeOutput(columns?: number, rows?: number) {
  const written: string[] = [];
  return { written, columns, rows, write: (text: string) => written.push(text) > 0 };
}

describe("LiveScreen", () => {
  it("enters the alternate screen in raw mode, and restores both on close", () => {
    const output = fakeOutput(100, 30);
    const input = new FakeInput();
    const screen = new LiveScreen(output, input, () => {});
    screen.start();
    expect(output.written[0]).toBe("\u001b[?1049h\u001b[?25l");
    expect(input.raw).toEqual([true]);
    expect(input.paused).toBe(false);
    screen.close();
    expect(input.raw).toEqual([true, false]);
    expect(input.paused).toBe(true);
    expect(output.written.at(-1)).toBe("\u001b[0m\u001b[?25h\u001b[?1049l");
    expect(input.listenerCount("data")).toBe(0);
    screen.close();
    expect(input.raw).toEqual([true, false]);
  });

  it("delivers keys one by one and draws over the previous frame", () => {
    const output = fakeOutput();
    const input = new FakeInput();
    const keys: string[] = [];
    const screen = new LiveScreen(output, input, (key) => keys.push(key));
    screen.start();
    input.emit("data", "ak\u001b[A");
    expect(keys).toEqual(["a", "k", "\u001b[A"]);
    screen.draw(["one", "two"]);
    expect(output.written.at(-1)).toBe("\u001b[Hone\u001b[K\r\ntwo\u001b[K\u001b[J");
    expect(screen.size()).toEqual({ columns: 120, rows: 40 });
    screen.close();
    screen.draw(["after close"]);
    expect(output.written.join("")).not.toContain("after close");
  });
});
