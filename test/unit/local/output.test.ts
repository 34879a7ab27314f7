import { describe, expect, it } from "vitest";
import { formatCommandLine, LineSplitter, OutputTail } from "../../../src/local/output.js";

describe("LineSplitter", () => {
  it("joins chunks into lines and keeps the unterminated rest", () => {
    const splitter = new LineSplitter();
    expect(splitter.push("al")).toEqual([]);
    expect(splitter.push("pha\nbe")).toEqual(["alpha"]);
    expect(splitter.push("ta\r\ngamma\n\n")).toEqual(["beta", "gamma", ""]);
    expect(splitter.push("delta")).toEqual([]);
    expect(splitter.flush()).toBe("delta");
    expect(splitter.flush()).toBeUndefined();
  });

  it("cuts a line that never ends instead of growing without bound", () => {
    const splitter = new LineSplitter();
    const huge = "x".repeat((1 << 20) + 10);
    const lines = splitter.push(huge);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.length).toBe(huge.length);
    expect(splitter.flush()).toBeUndefined();
  });
});

describe("OutputTail", () => {
  it("keeps only the last lines, oldest first", () => {
    const tail = new OutputTail({ maxLines: 3 });
    for (let i = 1; i <= 5; i++) tail.push({ stream: i % 2 ? "stdout" : "stderr", text: `line ${i}` });
    expect(tail.lines().map((l) => l.text)).toEqual(["line 3", "line 4", "line 5"]);
    expect(tail.lines(2).map((l) => l.text)).toEqual(["line 4", "line 5"]);
    expect(tail.lines(0)).toEqual([]);
  });

  it("shortens long lines and redacts secrets when formatting", () => {
    const tail = new OutputTail({ maxLineChars: 60 });
    tail.push({ stream: "stderr", text: "a".repeat(100) });
    tail.push({ stream: "stdout", text: "Endpoint=sb://h;SharedAccessKeyName=k;SharedAccessKey=s3cret" });
    const [first] = tail.lines();
    expect(first?.text).toBe(`${"a".repeat(60)}…`);
    const text = tail.format();
    expect(text).toContain("[stderr] aaa");
    expect(text).toContain("[stdout] Endpoint=sb://h;SharedAccessKeyName=k;SharedAccessKey=[redacted]");
    expect(text).not.toContain("s3cret");
  });
});

describe("formatCommandLine", () => {
  it("redacts values after secret flags, in both forms, and connection-string keys", () => {
    const line = formatCommandLine("/usr/bin/node", [
      "cli.js",
      "--key",
      "top-secret",
      "--key-name",
      "owner",
      "--key=other-secret",
      "--connection-string",
      "AccountKey=abc",
      "BlobEndpoint=x;AccountKey=def;",
    ]);
    expect(line).toBe(
      "/usr/bin/node cli.js --key [redacted] --key-name owner --key=[redacted] --connection-string [redacted] BlobEndpoint=x;AccountKey=[redacted];",
    );
  });

  it("quotes arguments with spaces", () => {
    expect(formatCommandLine("node", ["a b", "c"])).toBe('node "a b" c');
  });
});
