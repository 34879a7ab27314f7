import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../common/errors.js";

/** Names of the handlers that ship with the worker. */
export const BUILTIN_HANDLERS = ["log", "ledger", "archive"] as const;

/**
 * A built-in handler name: `log` (one log line per event), `ledger` (one JSON line per event) or
 * `archive` (Capture-format Avro files in Blob storage, docs/archive.md).
 */
export type BuiltinHandlerName = (typeof BUILTIN_HANDLERS)[number];

/** Name of the pipeline used when nothing else is configured. */
export const DEFAULT_PIPELINE_NAME = "default";

/** What may happen to an event whose last attempt failed; see {@link FailurePolicy}. */
export const FAILURE_POLICIES = ["deadletter", "stop", "skip"] as const;

/**
 * The fate of an event (or batch unit) once its last attempt failed: `deadletter` (the default)
 * writes one document per event to the dead-letter container before the event counts as complete;
 * `stop` stops the partition (no checkpoint past the event); `skip` logs at warn, counts it, and
 * lets the event count as complete.
 */
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

/** The policy of a pipeline that does not set `onFailure`. */
export const DEFAULT_FAILURE_POLICY: FailurePolicy = "deadletter";

/**
 * A pipeline in its object form. `pipelines: { orders: ["audit"] }` is short for
 * `pipelines: { orders: { handlers: ["audit"] } }`.
 */
export interface RawPipelineOptions {
  /** Handler names, in the order they run; at least one. */
  handlers?: string[];
  /** What happens after the last failed attempt; default `deadletter`. */
  onFailure?: string;
  /**
   * Largest event body the handlers accept, in bytes (a binary body's length, else the UTF-8 length
   * of its JSON text); a larger event goes straight to the policy without running a handler or
   * retrying. Default: no limit.
   */
  maxEventBytes?: number;
  /**
   * When true, an event whose body is not JSON (the SDK could not decode it and handed over bytes)
   * goes straight to the policy without running a handler or retrying. Default false.
   */
  expectJson?: boolean;
}

/** One raw handler instance: either a built-in or a module, never both. */
export interface RawHandlerOptions {
  /** A built-in handler: `"log"`, `"ledger"` or `"archive"`. */
  builtin?: string;
  /**
   * A module exporting a handler or a handler factory: a path (relative paths resolve against the
   * config's `baseDir`; `file:` URLs are accepted) or a package name resolved from `baseDir`.
   */
  module?: string;
  /** The module's export holding the handler or factory; default "default". */
  export?: string;
  /**
   * Free-form options passed to the handler's factory; default `{}`. For the `ledger` built-in a
   * relative `file` resolves against `baseDir`.
   */
  options?: Record<string, unknown>;
}

/** Raw handler section of the worker config (fields `handlers`, `pipelines`, `routes` at the top level of the JSON config file). */
export interface RawHandlersOptions {
  /** Handler instances by name. Either a built-in (`builtin: "log" | "ledger" | "archive"`) or a module (`module`: a path — relative paths resolve against `baseDir` — or a package name), with optional `export` (default "default") and free-form `options` passed to the handler's factory. */
  handlers?: Record<string, RawHandlerOptions>;
  /** Pipelines by name: an ordered list of handler names, or the object form with policy and input checks. */
  pipelines?: Record<string, string[] | RawPipelineOptions>;
  /** Routing: the application property whose value picks a pipeline, a map value → pipeline, and the default pipeline. */
  routes?: {
    /** Application property of an event whose value picks the pipeline; default: none (all events go to the default pipeline). */
    property?: string;
    /** Property value → pipeline name; default `{}`. */
    map?: Record<string, string>;
    /** Pipeline for events whose property is missing or not in `map`; default: the pipeline named `default`, or the only pipeline. */
    default?: string;
  };
}

/** Where a handler comes from once compiled. */
export type CompiledHandlerSource =
  | { kind: "builtin"; builtin: BuiltinHandlerName }
  | {
      kind: "module";
      /** Absolute file path or package name. */
      specifier: string;
      /** Export to pick from the module. */
      exportName: string;
    };

/** One validated handler instance. */
export interface CompiledHandlerSpec {
  /** The instance name (the key under `handlers`). */
  name: string;
  /** Built-in or module. */
  source: CompiledHandlerSource;
  /** Options passed to the handler's factory. */
  options: Record<string, unknown>;
}

/** One validated pipeline. Optional fields are present only when the config sets them. */
export interface CompiledPipelineSpec {
  /** The pipeline name (the key under `pipelines`). */
  name: string;
  /** Handler names in run order; each is declared, at least one. */
  handlers: string[];
  /** Failure policy; absent = {@link DEFAULT_FAILURE_POLICY}. */
  onFailure?: FailurePolicy;
  /** Largest accepted event body in bytes, ≥ 1; absent = no limit. */
  maxEventBytes?: number;
  /** Whether a body that is not JSON is rejected before the handlers run; absent = false. */
  expectJson?: boolean;
}

/** The validated handler section: only this type flows into the loader and the registry. */
export interface CompiledHandlersConfig {
  /** Every declared handler, in declaration order (unused ones included). */
  handlers: CompiledHandlerSpec[];
  /** Every pipeline, in declaration order; each names only known handlers and is not empty. */
  pipelines: CompiledPipelineSpec[];
  /** Routing; every pipeline named here exists. */
  routes: {
    /** Application property that picks the pipeline; undefined = always the default pipeline. */
    property: string | undefined;
    /** Property value → pipeline name. */
    map: Record<string, string>;
    /** Pipeline for unrouted events. */
    defaultPipeline: string;
  };
}

const HANDLER_KEYS = ["builtin", "module", "export", "options"];
const ROUTES_KEYS = ["property", "map", "default"];
const TOP_KEYS = ["handlers", "pipelines", "routes"];
const PIPELINE_KEYS = ["handlers", "onFailure", "maxEventBytes", "expectJson"];

function fail(setting: string, message: string): never {
  throw new ConfigError(`${setting}: ${message}`, { context: { setting } });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return `a ${typeof value}`;
}

function expectObject(value: unknown, setting: string): Record<string, unknown> {
  if (!isPlainObject(value)) fail(setting, `must be an object, got ${describe(value)}`);
  return value;
}

function expectName(value: unknown, setting: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    fail(setting, `must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

function rejectUnknownKeys(obj: Record<string, unknown>, allowed: string[], setting: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      fail(`${setting}.${key}`, `unknown setting; allowed: ${allowed.join(", ")}`);
    }
  }
}

function isBuiltin(name: string): name is BuiltinHandlerName {
  return (BUILTIN_HANDLERS as readonly string[]).includes(name);
}

function isPathLike(specifier: string): boolean {
  return specifier.startsWith(".") || isAbsolute(specifier);
}

/** Turns a `module` setting into an absolute path, or leaves a package name as it is. */
function resolveSpecifier(specifier: string, baseDir: string): string {
  if (specifier.startsWith("file:")) return fileURLToPath(specifier);
  return isPathLike(specifier) ? resolve(baseDir, specifier) : specifier;
}

function compileOptions(raw: unknown, setting: string): Record<string, unknown> {
  if (raw === undefined) return {};
  return { ...expectObject(raw, setting) };
}

function compileHandler(name: string, raw: unknown, baseDir: string): CompiledHandlerSpec {
  const setting = `handlers.${name}`;
  const entry = expectObject(raw, setting);
  rejectUnknownKeys(entry, HANDLER_KEYS, setting);
  const options = compileOptions(entry.options, `${setting}.options`);
  const hasBuiltin = entry.builtin !== undefined;
  const hasModule = entry.module !== undefined;
  if (hasBuiltin === hasModule) {
    fail(
      setting,
      `set exactly one of "builtin" (${BUILTIN_HANDLERS.join(", ")}) or "module" (a path or package name)`,
    );
  }
  if (hasBuiltin) {
    const builtin = expectName(entry.builtin, `${setting}.builtin`);
    if (!isBuiltin(builtin)) {
      fail(
        `${setting}.builtin`,
        `unknown built-in ${JSON.stringify(builtin)}; allowed: ${BUILTIN_HANDLERS.join(", ")}`,
      );
    }
    if (entry.export !== undefined) fail(`${setting}.export`, `only allowed with "module"`);
    if (builtin === "ledger" && typeof options.file === "string" && options.file !== "") {
      options.file = resolve(baseDir, options.file);
    }
    return { name, source: { kind: "builtin", builtin }, options };
  }
  const specifier = resolveSpecifier(expectName(entry.module, `${setting}.module`), baseDir);
  const exportName = entry.export === undefined ? "default" : expectName(entry.export, `${setting}.export`);
  return { name, source: { kind: "module", specifier, exportName }, options };
}

function compileHandlerList(list: unknown, setting: string, known: Set<string>): string[] {
  if (!Array.isArray(list)) fail(setting, `must be an array of handler names, got ${describe(list)}`);
  if (list.length === 0) fail(setting, "must name at least one handler");
  return list.map((item: unknown, i) => {
    const handler = expectName(item, `${setting}[${i}]`);
    if (!known.has(handler)) {
      const allowed =
        known.size === 0 ? "none are declared under handlers" : `known: ${[...known].join(", ")}`;
      fail(`${setting}[${i}]`, `unknown handler ${JSON.stringify(handler)}; ${allowed}`);
    }
    return handler;
  });
}

/** The object form's policy and input checks; only the keys the config sets are returned. */
function compilePipelineSettings(
  entry: Record<string, unknown>,
  setting: string,
): Omit<CompiledPipelineSpec, "name" | "handlers"> {
  const out: Omit<CompiledPipelineSpec, "name" | "handlers"> = {};
  if (entry.onFailure !== undefined) {
    const policy = entry.onFailure;
    if (typeof policy !== "string" || !(FAILURE_POLICIES as readonly string[]).includes(policy)) {
      fail(`${setting}.onFailure`, `must be one of ${FAILURE_POLICIES.join(", ")}, got ${describe(policy)}`);
    }
    out.onFailure = policy as FailurePolicy;
  }
  if (entry.maxEventBytes !== undefined) {
    const max = entry.maxEventBytes;
    if (typeof max !== "number" || !Number.isSafeInteger(max) || max < 1) {
      fail(`${setting}.maxEventBytes`, `must be a whole number of bytes ≥ 1, got ${describe(max)}`);
    }
    out.maxEventBytes = max;
  }
  if (entry.expectJson !== undefined) {
    if (typeof entry.expectJson !== "boolean") {
      fail(`${setting}.expectJson`, `must be true or false, got ${describe(entry.expectJson)}`);
    }
    out.expectJson = entry.expectJson;
  }
  return out;
}

function compilePipeline(name: string, raw: unknown, known: Set<string>): CompiledPipelineSpec {
  const setting = `pipelines.${name}`;
  if (name.trim() === "") fail(setting, "pipeline names must be non-empty");
  if (!isPlainObject(raw)) {
    if (!Array.isArray(raw)) {
      fail(setting, `must be an array of handler names or an object with "handlers", got ${describe(raw)}`);
    }
    return { name, handlers: compileHandlerList(raw, setting, known) };
  }
  rejectUnknownKeys(raw, PIPELINE_KEYS, setting);
  if (raw.handlers === undefined) fail(`${setting}.handlers`, "required: name at least one handler");
  const handlers = compileHandlerList(raw.handlers, `${setting}.handlers`, known);
  return { name, handlers, ...compilePipelineSettings(raw, setting) };
}

function compilePipelines(raw: unknown, known: Set<string>): CompiledPipelineSpec[] {
  const pipelines = expectObject(raw, "pipelines");
  return Object.entries(pipelines).map(([name, entry]) => compilePipeline(name, entry, known));
}

function pickDefaultPipeline(names: string[], configured: unknown): string {
  if (configured !== undefined) {
    const name = expectName(configured, "routes.default");
    if (!names.includes(name))
      fail("routes.default", `unknown pipeline ${JSON.stringify(name)}; known: ${names.join(", ")}`);
    return name;
  }
  if (names.includes(DEFAULT_PIPELINE_NAME)) return DEFAULT_PIPELINE_NAME;
  if (names.length === 1 && names[0] !== undefined) return names[0];
  return fail(
    "routes.default",
    `required when there are several pipelines and none is named "${DEFAULT_PIPELINE_NAME}"; one of: ${names.join(", ")}`,
  );
}

function compileRoutes(raw: unknown, names: string[]): CompiledHandlersConfig["routes"] {
  const routes = raw === undefined ? {} : expectObject(raw, "routes");
  rejectUnknownKeys(routes, ROUTES_KEYS, "routes");
  const property = routes.property === undefined ? undefined : expectName(routes.property, "routes.property");
  const rawMap = routes.map === undefined ? {} : expectObject(routes.map, "routes.map");
  const map: Record<string, string> = {};
  for (const [value, pipeline] of Object.entries(rawMap)) {
    const setting = `routes.map.${value}`;
    const name = expectName(pipeline, setting);
    if (!names.includes(name))
      fail(setting, `unknown pipeline ${JSON.stringify(name)}; known: ${names.join(", ")}`);
    map[value] = name;
  }
  if (property === undefined && Object.keys(map).length > 0) {
    fail(
      "routes.property",
      "required when routes.map is set: name the application property whose value picks the pipeline",
    );
  }
  return { property, map, defaultPipeline: pickDefaultPipeline(names, routes.default) };
}

function defaultConfig(raw: Record<string, unknown>): CompiledHandlersConfig {
  const handlers: CompiledHandlerSpec[] = [
    { name: "log", source: { kind: "builtin", builtin: "log" }, options: {} },
  ];
  const pipelines = [{ name: DEFAULT_PIPELINE_NAME, handlers: ["log"] }];
  return { handlers, pipelines, routes: compileRoutes(raw.routes, [DEFAULT_PIPELINE_NAME]) };
}

/**
 * Applies defaults and validates (every pipeline names known handlers, every route names a known
 * pipeline, unknown builtin, empty pipeline, both/neither of builtin and module, unused handler is
 * fine, …), throwing ConfigError naming the setting path (e.g. `pipelines.orders[1]`) and what is
 * allowed. `baseDir` resolves relative module paths. When nothing is configured the default is the
 * `log` builtin in pipeline `default`; when pipelines are configured but no `routes.default`, the
 * default pipeline is the one named `default`, or the only one, else a ConfigError. A pipeline is a
 * list of handler names or an object `{ handlers, onFailure, maxEventBytes, expectJson }`; the
 * object's optional settings appear in the result only when set.
 */
export function compileHandlersConfig(
  raw: RawHandlersOptions | undefined,
  baseDir: string,
): CompiledHandlersConfig {
  const section = raw === undefined ? {} : expectObject(raw, "handlers section");
  const known = Object.fromEntries(TOP_KEYS.map((key) => [key, section[key]]));
  if (known.handlers === undefined && known.pipelines === undefined) return defaultConfig(known);
  if (known.pipelines === undefined)
    fail("pipelines", "required when handlers are configured: name at least one pipeline");
  const handlerEntries = Object.entries(
    known.handlers === undefined ? {} : expectObject(known.handlers, "handlers"),
  );
  const handlers = handlerEntries.map(([name, entry]) => {
    if (name.trim() === "") fail("handlers", "handler names must be non-empty");
    return compileHandler(name, entry, baseDir);
  });
  const pipelines = compilePipelines(known.pipelines, new Set(handlers.map((h) => h.name)));
  if (pipelines.length === 0) fail("pipelines", "must declare at least one pipeline");
  const routes = compileRoutes(
    known.routes,
    pipelines.map((p) => p.name),
  );
  return { handlers, pipelines, routes };
}
