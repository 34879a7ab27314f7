import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ehwCommand, isTypeScriptSource, resolveEhwCommand } from "../../../src/local/cli-command.js";

const loader = () => "file:///opt/tsx/dist/loader.mjs";

describe("resolveEhwCommand", () => {
  it("runs the built CLI with plain node when the module is JavaScript", () => {
    const command = resolveEhwCommand(["hub", "--json"], {
      moduleUrl: "file:///srv/app/dist/local/cli-command.js",
      execPath: "/usr/local/bin/node",
      tsxLoaderUrl: () => {
        throw new Error("tsx must not be needed for built output");
      },
    });
    expect(command).toEqual({
      command: "/usr/local/bin/node",
      args: ["/srv/app/dist/cli/index.js", "hub", "--json"],
    });
  });

  it("runs the TypeScript CLI through the tsx loader when the module is a source file", () => {
    const command = resolveEhwCommand(["run"], {
      moduleUrl: "file:///repo/src/local/cli-command.ts",
      execPath: "/usr/bin/node",
      tsxLoaderUrl: loader,
    });
    expect(command).toEqual({
      command: "/usr/bin/node",
      args: ["--import", "file:///opt/tsx/dist/loader.mjs", "/repo/src/cli/index.ts", "run"],
    });
  });

  it("tells sources from built files by extension", () => {
    expect(isTypeScriptSource("file:///a/b.ts")).toBe(true);
    expect(isTypeScriptSource("file:///a/b.mts")).toBe(true);
    expect(isTypeScriptSource("file:///a/b.js")).toBe(false);
    expect(isTypeScriptSource("file:///a/ts/b.js")).toBe(false);
  });
});

describe("ehwCommand", () => {
  it("points at files that exist from this checkout, with absolute paths", () => {
    const { command, args } = ehwCommand(["hub"]);
    expect(command).toBe(process.execPath);
    expect(args[0]).toBe("--import");
    const loaderUrl = args[1] ?? "";
    expect(loaderUrl.startsWith("file:///")).toBe(true);
    expect(existsSync(fileURLToPath(loaderUrl))).toBe(true);
    const entry = args[2] ?? "";
    expect(entry.endsWith("/src/cli/index.ts")).toBe(true);
    expect(existsSync(entry)).toBe(true);
    expect(args.slice(3)).toEqual(["hub"]);
  });
});
