import { spawnSync } from "node:child_process";
import { stat } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { ConfigError, HandlerLoadError } from "../common/errors.js";
import type { BuiltinHandlerName, CompiledHandlerSpec } from "../config/handlers.js";
import { createArchiveHandler } from "./builtins/archive/index.js";
import { createLedgerHandler } from "./builtins/ledger.js";
import { createLogHandler } from "./builtins/log.js";
import { type EventHandler, type HandlerFactory, type InitContext, isEventHandler } from "./contract.js";
import { resolvePackageForImport } from "./resolve-package.js";

const BUILTIN_FACTORIES: Record<BuiltinHandlerName, HandlerFactory> = {
  log: createLogHandler,
  ledger: createLedgerHandler,
  archive: createArchiveHandler,
};

function loadError(spec: CompiledHandlerSpec, message: string, cause?: unknown): HandlerLoadError {
  const source = spec.source.kind === "module" ? spec.source.specifier : `builtin:${spec.source.builtin}`;
  return new HandlerLoadError(`handler "${spec.name}" (${source}): ${message}`, {
    cause,
    context: { handler: spec.name, setting: `handlers.${spec.name}` },
  });
}

function isPackageName(specifier: string): boolean {
  return !specifier.startsWith("/") && !specifier.startsWith(".") && !/^[A-Za-z]:[\\/]/.test(specifier);
}

/** Finds the file behind a package name the way `import()` from a module in `baseDir` would. */
function resolvePackage(spec: CompiledHandlerSpec, specifier: string, baseDir: string): string {
  let resolved: string | undefined;
  let cause: unknown;
  try {
    resolved = resolvePackageForImport(specifier, baseDir);
  } catch (err) {
    cause = err;
  }
  if (resolved !== undefined) return resolved;
  throw loadError(
    spec,
    `package "${specifier}" not found from ${baseDir}; check that it is installed there (npm ls ${specifier}) ` +
      "and that its package.json exports that path, or give a file path instead of a package name",
    cause,
  );
}

async function assertFileExists(spec: CompiledHandlerSpec, path: string): Promise<void> {
  const found = await stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!found) {
    throw loadError(
      spec,
      `module not found at ${path}; check handlers.${spec.name}.module (relative paths resolve against ` +
        "the config file's directory) and that the file was built if it is compiled",
    );
  }
}

/** Imports a handler module and returns its namespace object. */
export async function importHandlerModule(
  spec: CompiledHandlerSpec,
  baseDir: string = process.cwd(),
): Promise<Record<string, unknown>> {
  if (spec.source.kind !== "module") throw loadError(spec, "is a built-in, not a module");
  const { specifier } = spec.source;
  const path = isPackageName(specifier) ? resolvePackage(spec, specifier, baseDir) : specifier;
  await assertFileExists(spec, path);
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const syntax = syntaxErrorOf(path);
    if (syntax !== undefined) throw loadError(spec, `has a syntax error at ${syntax}`, err);
    throw loadError(spec, `module threw while being imported: ${reason}`, err);
  }
}

/**
 * `file:line: reason` of a syntax error in a JavaScript file, after its import failed. import()
 * rejects with the reason alone (the location reaches stderr only when the error goes uncaught),
 * so the file is checked once more with `node --check`, which prints both; undefined for other
 * file types, or when the file itself parses (the failure is elsewhere).
 */
function syntaxErrorOf(path: string): string | undefined {
  if (!/\.[cm]?js$/.test(path)) return undefined;
  const check = spawnSync(process.execPath, ["--check", path], { encoding: "utf8", timeout: 10_000 });
  const lines = check.stderr?.split("\n") ?? [];
  const where = lines[0] ?? "";
  const reason = lines.find((line) => line.startsWith("SyntaxError: "));
  if (check.status === 0 || !/^.+:\d+$/.test(where) || reason === undefined) return undefined;
  return `${where}: ${reason.slice("SyntaxError: ".length)}`;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") {
    const keys = Object.keys(value as object);
    return keys.length === 0 ? "an empty object" : `an object with keys ${keys.join(", ")}`;
  }
  return `a ${typeof value}`;
}

function isClass(fn: HandlerFactory): boolean {
  return Function.prototype.toString.call(fn).startsWith("class");
}

function pickExport(
  spec: CompiledHandlerSpec,
  namespace: Record<string, unknown>,
  exportName: string,
): unknown {
  if (Object.hasOwn(namespace, exportName)) return namespace[exportName];
  const available = Object.keys(namespace);
  const listed = available.length === 0 ? "it has no exports" : `it exports: ${available.join(", ")}`;
  throw loadError(spec, `export "${exportName}" not found; ${listed}; set handlers.${spec.name}.export`);
}

async function callFactory(
  spec: CompiledHandlerSpec,
  factory: HandlerFactory,
  initCtx: InitContext,
): Promise<unknown> {
  if (isClass(factory)) {
    throw loadError(
      spec,
      "export is a class; export an instance (new MyHandler()) or a factory function instead",
    );
  }
  try {
    return await factory(initCtx.options, initCtx);
  } catch (err) {
    // Bad options are the config's fault, and say so by their own setting path.
    if (err instanceof ConfigError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw loadError(spec, `factory threw: ${reason}`, err);
  }
}

/** Checks that a value is a usable handler, with an error that says what was found instead. */
function asHandler(spec: CompiledHandlerSpec, value: unknown, origin: string): EventHandler {
  if (isEventHandler(value)) return value;
  if (typeof value === "object" && value !== null) {
    throw loadError(
      spec,
      `${origin} has neither a handle nor a handleBatch function (found ${describeValue(value)})`,
    );
  }
  throw loadError(
    spec,
    `${origin} is not a handler object or factory function (found ${describeValue(value)})`,
  );
}

/**
 * Turns one compiled spec into a handler: built-ins by name; modules imported from their absolute
 * path or resolved as a package from `baseDir` (default: the working directory); the named export
 * is used as the handler, or called as a factory with the options and `initCtx`. Does not call
 * `init`. Every failure is a HandlerLoadError saying what to check, with the original as `cause`.
 */
export async function instantiateHandler(
  spec: CompiledHandlerSpec,
  initCtx: InitContext,
  baseDir: string = process.cwd(),
): Promise<EventHandler> {
  if (spec.source.kind === "builtin") {
    const built = await callFactory(spec, BUILTIN_FACTORIES[spec.source.builtin], initCtx);
    return asHandler(spec, built, "built-in");
  }
  const namespace = await importHandlerModule(spec, baseDir);
  const exported = pickExport(spec, namespace, spec.source.exportName);
  if (typeof exported === "function") {
    const built = await callFactory(spec, exported as HandlerFactory, initCtx);
    return asHandler(spec, built, `factory "${spec.source.exportName}" returned a value that`);
  }
  return asHandler(spec, exported, `export "${spec.source.exportName}"`);
}
