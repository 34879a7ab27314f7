import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HandlerLoadError } from "../../../src/common/errors.js";
import type { CompiledHandlerSpec } from "../../../src/config/handlers.js";
import type { InitContext } from "../../../src/handlers/contract.js";
import { instantiateHandler } from "../../../src/handlers/loader.js";
import { silentLogger } from "../../../src/observability/logger.js";

const FIXTURES = resolve(import.meta.dirname, "../../fixtures/handlers");

function moduleSpec(
  file: string,
  exportName = "default",
  options: Record<string, unknown> = {},
): CompiledHandlerSpec {
  return { name: "h", source: { kind: "module", specifier: join(FIXTURES, file), exportName }, options };
}

function initCtx(options: Record<string, unknown> = {}): InitContext {
  return { name: "h", logger: silentLogger(), options, workerId: "w1" };
}

async function loadFailure(spec: CompiledHandlerSpec, baseDir?: string): Promise<HandlerLoadError> {
  const err = await instantiateHandler(spec, initCtx(spec.options), baseDir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HandlerLoadError);
  return err as HandlerLoadError;
}

describe("instantiateHandler", () => {
  const tempDirs: string[] = [];
  afterEach(async () => {
    await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it("calls a factory export with the options and the init context", async () => {
    const calls: unknown[] = [];
    const spec = moduleSpec("factory.mjs", "default", { calls, tag: "rec" });
    const handler = await instantiateHandler(spec, initCtx(spec.options));
    await handler.init?.(initCtx(spec.options));
    expect(calls).toEqual([{ tag: "rec", op: "init", workerId: "w1" }]);
  });

  it("uses an object export as the handler", async () => {
    const handler = await instantiateHandler(moduleSpec("factory.mjs", "objectHandler"), initCtx());
    expect(typeof handler.handle).toBe("function");
  });

  it("builds built-ins by name", async () => {
    const spec: CompiledHandlerSpec = { name: "h", source: { kind: "builtin", builtin: "log" }, options: {} };
    const handler = await instantiateHandler(spec, initCtx());
    expect(typeof handler.handle).toBe("function");
    expect(typeof handler.handleBatch).toBe("function");
  });

  it("resolves a package name from baseDir", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ehw-loader-"));
    tempDirs.push(dir);
    const pkg = join(dir, "node_modules", "fixture-handler-pkg");
    await mkdir(pkg, { recursive: true });
    await writeFile(
      join(pkg, "package.json"),
      JSON.stringify({ name: "fixture-handler-pkg", type: "module", main: "index.js" }),
    );
    await writeFile(
      join(pkg, "index.js"),
      'export const pkgHandler = { name: "from-package", handle() {} };\n',
    );
    const spec: CompiledHandlerSpec = {
      name: "h",
      source: { kind: "module", specifier: "fixture-handler-pkg", exportName: "pkgHandler" },
      options: {},
    };
    const handler = await instantiateHandler(spec, initCtx(), dir);
    expect(handler.name).toBe("from-package");
  });

  it("resolves an import-only package and its subpath exports from baseDir", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ehw-loader-"));
    tempDirs.push(dir);
    const pkg = join(dir, "node_modules", "@acme", "esm-handlers");
    await mkdir(join(pkg, "lib", "extra"), { recursive: true });
    const exports = {
      ".": { types: "./lib/index.d.ts", import: "./lib/index.js" },
      "./extra/*": { import: "./lib/extra/*.js" },
    };
    await writeFile(
      join(pkg, "package.json"),
      JSON.stringify({ name: "@acme/esm-handlers", type: "module", exports }),
    );
    await writeFile(join(pkg, "lib", "index.js"), 'export default { name: "esm-root", handle() {} };\n');
    await writeFile(
      join(pkg, "lib", "extra", "audit.js"),
      'export default { name: "esm-extra", handle() {} };\n',
    );
    const load = (specifier: string) =>
      instantiateHandler(
        { name: "h", source: { kind: "module", specifier, exportName: "default" }, options: {} },
        initCtx(),
        join(dir, "config"),
      );
    expect((await load("@acme/esm-handlers")).name).toBe("esm-root");
    expect((await load("@acme/esm-handlers/extra/audit")).name).toBe("esm-extra");
    await expect(load("@acme/esm-handlers/private")).rejects.toThrow(
      /package "@acme\/esm-handlers\/private" not found/,
    );
  });

  it("reports a missing module with its resolved path and what to check", async () => {
    const err = await loadFailure(moduleSpec("nope.mjs"));
    expect(err.message).toContain(join(FIXTURES, "nope.mjs"));
    expect(err.message).toMatch(/module not found.*handlers\.h\.module/);
    expect(err.context.setting).toBe("handlers.h");
  });

  it("reports a package that is not installed", async () => {
    const spec: CompiledHandlerSpec = {
      name: "h",
      source: { kind: "module", specifier: "no-such-handler-package", exportName: "default" },
      options: {},
    };
    const err = await loadFailure(spec, FIXTURES);
    expect(err.message).toMatch(/package "no-such-handler-package" not found from .*fixtures\/handlers/);
  });

  it("reports a module that throws on import, with the cause", async () => {
    const err = await loadFailure(moduleSpec("throws-on-import.mjs"));
    expect(err.message).toMatch(/threw while being imported: boom while importing/);
    expect((err.cause as Error).message).toBe("boom while importing");
  });

  it("names the file and line of a syntax error in the handler module", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ehw-syntax-"));
    try {
      // Written here rather than kept as a fixture: the linter would refuse a file that does not parse.
      const file = join(dir, "broken.mjs");
      await writeFile(file, "export default {\n  async handle(event) {\n    return (;\n  },\n};\n");
      const spec: CompiledHandlerSpec = {
        name: "h",
        source: { kind: "module", specifier: file, exportName: "default" },
        options: {},
      };
      const err = await loadFailure(spec);
      expect(err.message).toContain(`has a syntax error at ${file}:3: Unexpected token ';'`);
      expect(err.cause).toBeInstanceOf(Error);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reports a module whose own import fails as an import failure, not a missing handler module", async () => {
    const err = await loadFailure(moduleSpec("imports-missing.mjs"));
    expect(err.message).toMatch(/threw while being imported/);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it("lists the exports a module has when the named one is missing", async () => {
    const err = await loadFailure(moduleSpec("not-a-handler.mjs", "handler"));
    expect(err.message).toMatch(/export "handler" not found; it exports: /);
    for (const name of ["count", "lifecycleOnly", "returnsNothing", "HandlerClass", "default"]) {
      expect(err.message).toContain(name);
    }
  });

  it.each([
    ["default", /export "default" is not a handler object or factory function \(found a string\)/],
    ["count", /export "count" is not a handler object or factory function \(found a number\)/],
    [
      "lifecycleOnly",
      /neither a handle nor a handleBatch function \(found an object with keys init, close\)/,
    ],
    ["returnsNothing", /factory "returnsNothing" returned a value that is not a handler .*found undefined/],
    ["HandlerClass", /export is a class; export an instance/],
  ])("says what export %s is instead of a handler", async (exportName, message) => {
    const err = await loadFailure(moduleSpec("not-a-handler.mjs", exportName));
    expect(err.message).toMatch(message);
  });

  it("wraps a factory that throws, keeping the cause", async () => {
    const spec = moduleSpec("factory.mjs", "default", {});
    const bad: CompiledHandlerSpec = {
      ...spec,
      options: {
        get calls(): never {
          throw new Error("bad options");
        },
      },
    };
    const err = await loadFailure(bad);
    expect(err.message).toMatch(/factory threw: bad options/);
    expect((err.cause as Error).message).toBe("bad options");
  });
});
