/**
 * The tracing settings of `ehw run`: `tracing` (otlp | off) and `tracingParent` (link | child)
 * from the usual flags, EHW_* variables and file keys, and the standard OpenTelemetry variables
 * (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
 * OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_SCHEDULE_DELAY), read here and passed
 * on explicitly: the SDK is never left to read the environment itself.
 */
import { ConfigError } from "../common/errors.js";
import type { RawWorkerOptions } from "./settings.js";
import { parseChoice } from "./values.js";

/** Tracing modes. */
export const TRACING_MODES = ["off", "otlp"] as const;
/** How attempt spans relate to the producer's span. */
export const TRACING_PARENTS = ["link", "child"] as const;
/** OTEL_TRACES_SAMPLER values this worker supports (the SDK's standard names). */
export const TRACES_SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

/** The compiled tracing section. */
export interface TracingConfig {
  /** `off` (default: no span, no SDK loaded) or `otlp` (export over OTLP/HTTP). */
  readonly mode: (typeof TRACING_MODES)[number];
  /** `link` (default): attempt spans start their own trace linked to the producer's; `child`: they join it. */
  readonly parent: (typeof TRACING_PARENTS)[number];
  /** OTEL_SERVICE_NAME; default "eventhub-worker". */
  readonly serviceName: string;
  /** Where spans go: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces"; default http://localhost:4318/v1/traces. */
  readonly tracesUrl: string;
  /** OTEL_EXPORTER_OTLP_HEADERS (`k=v,k2=v2`, values URL-decoded); default none. Never logged. */
  readonly headers: Readonly<Record<string, string>>;
  /** OTEL_TRACES_SAMPLER; default parentbased_always_on. */
  readonly sampler: (typeof TRACES_SAMPLERS)[number];
  /** OTEL_TRACES_SAMPLER_ARG for the ratio samplers, 0-1; default 1. */
  readonly samplerRatio: number;
  /** OTEL_BSP_SCHEDULE_DELAY: milliseconds between two exports of the batch processor; default 5000. */
  readonly exportDelayMs: number;
}

/** The batch span processor's export delay when OTEL_BSP_SCHEDULE_DELAY is not set, ms (the SDK's). */
export const DEFAULT_EXPORT_DELAY_MS = 5000;

/** The OTEL_* variables this worker reads. */
export const OTEL_VARIABLES = [
  "OTEL_SERVICE_NAME",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_TRACES_SAMPLER",
  "OTEL_TRACES_SAMPLER_ARG",
  "OTEL_BSP_SCHEDULE_DELAY",
] as const;

/** The OTEL_* variables of `env` that this worker reads, for {@link compileTracingConfig}. */
export function otelVariables(env: NodeJS.ProcessEnv): Readonly<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const name of OTEL_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") found[name] = value.trim();
  }
  return found;
}

function fail(name: string, problem: string): never {
  throw new ConfigError(`${name} ${problem}`, { context: { setting: name } });
}

function headersOf(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (text === undefined) return headers;
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=");
    const key = pair.slice(0, at).trim();
    // The value may be a token: the message names the variable, never the value.
    if (at <= 0 || key === "")
      fail("OTEL_EXPORTER_OTLP_HEADERS", "must be key=value pairs separated by commas");
    headers[key] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

function tracesUrlOf(otel: Readonly<Record<string, string>>): string {
  const url =
    otel.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    `${(otel.OTEL_EXPORTER_OTLP_ENDPOINT ?? "http://localhost:4318").replace(/\/+$/, "")}/v1/traces`;
  try {
    new URL(url);
  } catch {
    fail(
      otel.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT === undefined
        ? "OTEL_EXPORTER_OTLP_ENDPOINT"
        : "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
      `must be an http(s) URL such as http://localhost:4318 (got ${JSON.stringify(url)})`,
    );
  }
  return url;
}

/** The raw values the tracing section reads: the worker's options have them, `ehw send` builds them. */
export type RawTracingOptions = Pick<RawWorkerOptions, "tracing" | "tracingParent" | "otelVariables">;

/**
 * Compiles the tracing section; `raw` has its defaults applied. `serviceName` is the service name
 * when OTEL_SERVICE_NAME is not set. Throws ConfigError.
 */
export function compileTracingConfig(raw: RawTracingOptions, serviceName = "eventhub-worker"): TracingConfig {
  const otel = raw.otelVariables ?? {};
  const mode = raw.tracing === undefined ? "off" : parseChoice("tracing", raw.tracing, TRACING_MODES);
  const parent =
    raw.tracingParent === undefined
      ? "link"
      : parseChoice("tracingParent", raw.tracingParent, TRACING_PARENTS);
  const samplerText = otel.OTEL_TRACES_SAMPLER ?? "parentbased_always_on";
  const sampler = TRACES_SAMPLERS.find((s) => s === samplerText);
  if (sampler === undefined)
    fail(
      "OTEL_TRACES_SAMPLER",
      `must be one of ${TRACES_SAMPLERS.join(", ")} (got ${JSON.stringify(samplerText)})`,
    );
  const ratioText = otel.OTEL_TRACES_SAMPLER_ARG;
  const samplerRatio = ratioText === undefined ? 1 : Number(ratioText);
  if (!Number.isFinite(samplerRatio) || samplerRatio < 0 || samplerRatio > 1) {
    fail("OTEL_TRACES_SAMPLER_ARG", `must be a ratio from 0 to 1 (got ${JSON.stringify(ratioText)})`);
  }
  const delayText = otel.OTEL_BSP_SCHEDULE_DELAY;
  const exportDelayMs = delayText === undefined ? DEFAULT_EXPORT_DELAY_MS : Number(delayText);
  if (!Number.isSafeInteger(exportDelayMs) || exportDelayMs < 1) {
    fail(
      "OTEL_BSP_SCHEDULE_DELAY",
      `must be a whole number of milliseconds, ≥ 1 (got ${JSON.stringify(delayText)})`,
    );
  }
  return {
    mode,
    parent,
    serviceName: otel.OTEL_SERVICE_NAME ?? serviceName,
    tracesUrl: tracesUrlOf(otel),
    headers: headersOf(otel.OTEL_EXPORTER_OTLP_HEADERS),
    sampler,
    samplerRatio,
    exportDelayMs,
  };
}

/**
 * The traces URL the OTEL_* variables name, or undefined when neither OTEL_EXPORTER_OTLP_ENDPOINT
 * nor OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (then `ehw dev --tracing` receives the spans
 * itself). Throws ConfigError for a URL that does not parse.
 */
export function configuredTracesUrl(otel: Readonly<Record<string, string>>): string | undefined {
  if (otel.OTEL_EXPORTER_OTLP_ENDPOINT === undefined && otel.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT === undefined)
    return undefined;
  return tracesUrlOf(otel);
}
