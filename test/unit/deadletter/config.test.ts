import { describe, expect, it } from "vitest";
import type { ConfigError } from "../../../src/common/errors.js";
import { compileHandlersConfig, type RawHandlersOptions } from "../../../src/config/handlers.js";
import { failurePolicyOf, usesDeadLetter } from "../../../src/deadletter/failure-handler.js";
import { configErrorOf } from "../config/helpers.js";

const BASE = "/srv/app";
const log = { builtin: "log" };

function rejection(raw: unknown): ConfigError {
  return configErrorOf(() => compileHandlersConfig(raw as RawHandlersOptions, BASE));
}

describe("pipeline object form", () => {
  it("keeps the list form valid and adds nothing to it", () => {
    const compiled = compileHandlersConfig({ handlers: { a: log }, pipelines: { orders: ["a"] } }, BASE);
    expect(compiled.pipelines).toEqual([{ name: "orders", handlers: ["a"] }]);
    expect(Object.keys(compiled.pipelines[0] ?? {})).toEqual(["name", "handlers"]);
  });

  it("compiles handlers, onFailure, maxEventBytes and expectJson", () => {
    const compiled = compileHandlersConfig(
      {
        handlers: { a: log, b: log },
        pipelines: {
          orders: { handlers: ["a", "b"], onFailure: "skip", maxEventBytes: 1024, expectJson: true },
          default: ["a"],
          audit: { handlers: ["b"], onFailure: "stop" },
        },
      },
      BASE,
    );
    expect(compiled.pipelines).toEqual([
      { name: "orders", handlers: ["a", "b"], onFailure: "skip", maxEventBytes: 1024, expectJson: true },
      { name: "default", handlers: ["a"] },
      { name: "audit", handlers: ["b"], onFailure: "stop" },
    ]);
    expect(compiled.routes.defaultPipeline).toBe("default");
  });

  it("gives pipelines without onFailure the deadletter policy", () => {
    const compiled = compileHandlersConfig(
      {
        handlers: { a: log },
        pipelines: { x: ["a"], y: { handlers: ["a"] }, z: { handlers: ["a"], onFailure: "skip" } },
        routes: { default: "x" },
      },
      BASE,
    );
    expect(failurePolicyOf(compiled.pipelines, "x")).toBe("deadletter");
    expect(failurePolicyOf(compiled.pipelines, "y")).toBe("deadletter");
    expect(failurePolicyOf(compiled.pipelines, "z")).toBe("skip");
    expect(failurePolicyOf(compiled.pipelines, "unknown")).toBe("deadletter");
    expect(usesDeadLetter(compiled.pipelines)).toBe(true);
    expect(usesDeadLetter([{ name: "z", handlers: ["a"], onFailure: "stop" }])).toBe(false);
  });

  it("gives the default config the deadletter policy", () => {
    expect(failurePolicyOf(compileHandlersConfig(undefined, BASE).pipelines, "default")).toBe("deadletter");
  });

  const cases: Array<[string, unknown, string, RegExp]> = [
    [
      "an unknown policy",
      { handlers: { a: log }, pipelines: { p: { handlers: ["a"], onFailure: "retry" } } },
      "pipelines.p.onFailure",
      /must be one of deadletter, stop, skip, got the string "retry"/,
    ],
    [
      "a policy that is not a string",
      { handlers: { a: log }, pipelines: { p: { handlers: ["a"], onFailure: 1 } } },
      "pipelines.p.onFailure",
      /must be one of deadletter, stop, skip, got a number/,
    ],
    [
      "a fractional maxEventBytes",
      { handlers: { a: log }, pipelines: { p: { handlers: ["a"], maxEventBytes: 1.5 } } },
      "pipelines.p.maxEventBytes",
      /whole number of bytes ≥ 1/,
    ],
    [
      "a zero maxEventBytes",
      { handlers: { a: log }, pipelines: { p: { handlers: ["a"], maxEventBytes: 0 } } },
      "pipelines.p.maxEventBytes",
      /whole number of bytes ≥ 1/,
    ],
    [
      "a maxEventBytes string",
      { handlers: { a: log }, pipelines: { p: { handlers: ["a"], maxEventBytes: "1kb" } } },
      "pipelines.p.maxEventBytes",
      /got the string "1kb"/,
    ],
    [
      "a non-boolean expectJson",
      { handlers: { a: log }, pipelines: { p: { handlers: ["a"], expectJson: "yes" } } },
      "pipelines.p.expectJson",
      /must be true or false/,
    ],
    [
      "an object without handlers",
      { handlers: { a: log }, pipelines: { p: { onFailure: "skip" } } },
      "pipelines.p.handlers",
      /required/,
    ],
    [
      "an unknown handler in the object form",
      { handlers: { a: log }, pipelines: { p: { handlers: ["a", "b"] } } },
      "pipelines.p.handlers[1]",
      /unknown handler "b"; known: a/,
    ],
    [
      "an empty handler list in the object form",
      { handlers: { a: log }, pipelines: { p: { handlers: [] } } },
      "pipelines.p.handlers",
      /at least one handler/,
    ],
    [
      "an unknown pipeline key",
      { handlers: { a: log }, pipelines: { p: { handlers: ["a"], onFailur: "skip" } } },
      "pipelines.p.onFailur",
      /allowed: handlers, onFailure, maxEventBytes, expectJson/,
    ],
    [
      "a pipeline that is neither list nor object",
      { handlers: { a: log }, pipelines: { p: 3 } },
      "pipelines.p",
      /array of handler names or an object with "handlers", got a number/,
    ],
  ];

  it.each(cases)("rejects %s, naming the path", (_what, raw, setting, message) => {
    const err = rejection(raw);
    expect(err.context.setting).toBe(setting);
    expect(err.message.startsWith(`${setting}: `)).toBe(true);
    expect(err.message).toMatch(message);
  });
});
