import { describe, expect, it } from "vitest";
import type { ConfigError } from "../../../src/common/errors.js";
import { compileHandlersConfig, type RawHandlersOptions } from "../../../src/config/handlers.js";
import { configErrorOf } from "./helpers.js";

const BASE = "/srv/app";

function rejection(raw: unknown): ConfigError {
  return configErrorOf(() => compileHandlersConfig(raw as RawHandlersOptions, BASE));
}

const log = { builtin: "log" };

describe("compileHandlersConfig defaults", () => {
  it("uses the log built-in in pipeline default when nothing is configured", () => {
    for (const raw of [undefined, {}]) {
      expect(compileHandlersConfig(raw, BASE)).toEqual({
        handlers: [{ name: "log", source: { kind: "builtin", builtin: "log" }, options: {} }],
        pipelines: [{ name: "default", handlers: ["log"] }],
        routes: { property: undefined, map: {}, defaultPipeline: "default" },
      });
    }
  });

  it("resolves relative module paths against baseDir and keeps package names", () => {
    const compiled = compileHandlersConfig(
      {
        handlers: {
          rel: { module: "./handlers/audit.mjs", export: "audit", options: { n: 1 } },
          abs: { module: "/opt/h.mjs" },
          pkg: { module: "@acme/handlers" },
        },
        pipelines: { default: ["rel", "abs", "pkg"] },
      },
      BASE,
    );
    expect(compiled.handlers.map((h) => h.source)).toEqual([
      { kind: "module", specifier: "/srv/app/handlers/audit.mjs", exportName: "audit" },
      { kind: "module", specifier: "/opt/h.mjs", exportName: "default" },
      { kind: "module", specifier: "@acme/handlers", exportName: "default" },
    ]);
    expect(compiled.handlers[0]?.options).toEqual({ n: 1 });
  });

  it("resolves a relative ledger file against baseDir", () => {
    const compiled = compileHandlersConfig(
      {
        handlers: { l: { builtin: "ledger", options: { file: "out/ledger.jsonl" } } },
        pipelines: { p: ["l"] },
      },
      BASE,
    );
    expect(compiled.handlers[0]?.options.file).toBe("/srv/app/out/ledger.jsonl");
  });

  it("picks the pipeline named default, else the only one, else routes.default", () => {
    const handlers = { a: log };
    expect(
      compileHandlersConfig({ handlers, pipelines: { x: ["a"], default: ["a"] } }, BASE).routes
        .defaultPipeline,
    ).toBe("default");
    expect(compileHandlersConfig({ handlers, pipelines: { only: ["a"] } }, BASE).routes.defaultPipeline).toBe(
      "only",
    );
    const routed = compileHandlersConfig(
      {
        handlers,
        pipelines: { x: ["a"], y: ["a"] },
        routes: { property: "type", map: { t: "x" }, default: "y" },
      },
      BASE,
    );
    expect(routed.routes).toEqual({ property: "type", map: { t: "x" }, defaultPipeline: "y" });
  });

  it("accepts a declared handler that no pipeline uses", () => {
    const compiled = compileHandlersConfig(
      { handlers: { a: log, unused: log }, pipelines: { p: ["a"] } },
      BASE,
    );
    expect(compiled.handlers.map((h) => h.name)).toEqual(["a", "unused"]);
  });
});

describe("compileHandlersConfig rejections", () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    [
      "unknown handler in a pipeline",
      { handlers: { a: log }, pipelines: { orders: ["a", "b"] } },
      "pipelines.orders[1]",
      /unknown handler "b"; known: a/,
    ],
    ["empty pipeline", { handlers: { a: log }, pipelines: { p: [] } }, "pipelines.p", /at least one handler/],
    [
      "pipeline not an array",
      { handlers: { a: log }, pipelines: { p: "a" } },
      "pipelines.p",
      /array of handler names/,
    ],
    [
      "unknown built-in",
      { handlers: { a: { builtin: "mail" } }, pipelines: { p: ["a"] } },
      "handlers.a.builtin",
      /allowed: log, ledger/,
    ],
    [
      "both builtin and module",
      { handlers: { a: { builtin: "log", module: "./x.mjs" } }, pipelines: { p: ["a"] } },
      "handlers.a",
      /exactly one of/,
    ],
    [
      "neither builtin nor module",
      { handlers: { a: { options: {} } }, pipelines: { p: ["a"] } },
      "handlers.a",
      /exactly one of/,
    ],
    [
      "export with a built-in",
      { handlers: { a: { builtin: "log", export: "x" } }, pipelines: { p: ["a"] } },
      "handlers.a.export",
      /only allowed with "module"/,
    ],
    [
      "empty module",
      { handlers: { a: { module: "" } }, pipelines: { p: ["a"] } },
      "handlers.a.module",
      /non-empty string/,
    ],
    [
      "options not an object",
      { handlers: { a: { builtin: "log", options: [1] } }, pipelines: { p: ["a"] } },
      "handlers.a.options",
      /must be an object, got an array/,
    ],
    [
      "unknown handler key",
      { handlers: { a: { builtin: "log", modul: "x" } }, pipelines: { p: ["a"] } },
      "handlers.a.modul",
      /allowed: builtin, module, export, options/,
    ],
    [
      "handlers without pipelines",
      { handlers: { a: log } },
      "pipelines",
      /required when handlers are configured/,
    ],
    [
      "route to an unknown pipeline",
      {
        handlers: { a: log },
        pipelines: { p: ["a"] },
        routes: { property: "type", map: { order: "orders" } },
      },
      "routes.map.order",
      /unknown pipeline "orders"; known: p/,
    ],
    [
      "unknown default pipeline",
      { handlers: { a: log }, pipelines: { p: ["a"] }, routes: { default: "q" } },
      "routes.default",
      /unknown pipeline "q"/,
    ],
    [
      "several pipelines, no default",
      { handlers: { a: log }, pipelines: { p: ["a"], q: ["a"] } },
      "routes.default",
      /one of: p, q/,
    ],
    [
      "map without property",
      { handlers: { a: log }, pipelines: { p: ["a"] }, routes: { map: { x: "p" } } },
      "routes.property",
      /required when routes.map is set/,
    ],
    [
      "unknown routes key",
      { routes: { propery: "type" } },
      "routes.propery",
      /allowed: property, map, default/,
    ],
  ];

  it.each(cases)("rejects %s", (_what, raw, setting, message) => {
    const err = rejection(raw);
    expect(err.context.setting).toBe(setting);
    expect(err.message.startsWith(`${setting}: `)).toBe(true);
    expect(err.message).toMatch(message);
  });
});
