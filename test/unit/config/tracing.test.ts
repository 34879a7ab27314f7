import { describe, expect, it } from "vitest";
import { readRawWorkerOptions } from "../../../src/config/source.js";
import { configuredTracesUrl } from "../../../src/config/tracing.js";
import { compileWorkerConfig } from "../../../src/config/worker.js";

const BASE = {
  EHW_EVENTHUB_CONNECTION_STRING:
    "Endpoint=sb://127.0.0.1;SharedAccessKeyName=k;SharedAccessKey=s;UseDevelopmentEmulator=true",
  EHW_EVENTHUB_NAME: "orders",
  EHW_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
  EHW_CONTAINER_NAME: "ckpt",
};

function tracing(argv: string[], env: Record<string, string> = {}) {
  const { raw } = readRawWorkerOptions(argv, { ...BASE, ...env }, process.cwd());
  return compileWorkerConfig(raw, { baseDir: process.cwd() }).observability.tracing;
}

describe("tracing settings", () => {
  it("are off, linked, and exporting to the OTLP default endpoint unless set", () => {
    expect(tracing([])).toMatchObject({
      mode: "off",
      parent: "link",
      serviceName: "eventhub-worker",
      tracesUrl: "http://localhost:4318/v1/traces",
      sampler: "parentbased_always_on",
      samplerRatio: 1,
      headers: {},
    });
  });

  it("take --tracing, --tracing-parent and the standard OTEL_* variables", () => {
    const config = tracing(["--tracing", "otlp", "--tracing-parent", "child"], {
      OTEL_SERVICE_NAME: "orders-worker",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
      OTEL_EXPORTER_OTLP_HEADERS: "api-key=a%3Db,tenant=t1",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
    });
    expect(config).toMatchObject({
      mode: "otlp",
      parent: "child",
      serviceName: "orders-worker",
      tracesUrl: "http://collector:4318/v1/traces",
      headers: { "api-key": "a=b", tenant: "t1" },
      sampler: "parentbased_traceidratio",
      samplerRatio: 0.25,
    });
    expect(tracing([], { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://x.example/traces" })?.tracesUrl).toBe(
      "https://x.example/traces",
    );
    expect(tracing([], { EHW_TRACING: "otlp" })?.mode).toBe("otlp");
  });

  it("take the batch export delay from OTEL_BSP_SCHEDULE_DELAY", () => {
    expect(tracing([])?.exportDelayMs).toBe(5000);
    expect(tracing([], { OTEL_BSP_SCHEDULE_DELAY: "250" })?.exportDelayMs).toBe(250);
  });

  it("tell whether the OTEL_* variables name a collector", () => {
    expect(configuredTracesUrl({})).toBeUndefined();
    expect(configuredTracesUrl({ OTEL_SERVICE_NAME: "x" })).toBeUndefined();
    expect(configuredTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(
      "http://collector:4318/v1/traces",
    );
    expect(configuredTracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/t" })).toBe(
      "http://c:4318/t",
    );
    expect(() => configuredTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: "nope" })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/,
    );
  });

  it.each([
    [
      [],
      { OTEL_BSP_SCHEDULE_DELAY: "soon" },
      /OTEL_BSP_SCHEDULE_DELAY must be a whole number of milliseconds/,
    ],
    [["--tracing", "jaeger"], {}, /tracing.*jaeger/],
    [["--tracing-parent", "sibling"], {}, /tracingParent|tracing-parent/],
    [[], { OTEL_TRACES_SAMPLER: "sometimes" }, /OTEL_TRACES_SAMPLER must be one of always_on/],
    [[], { OTEL_TRACES_SAMPLER_ARG: "2" }, /OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1/],
    [
      [],
      { OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" },
      /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/,
    ],
    [
      [],
      { OTEL_EXPORTER_OTLP_HEADERS: "secret-token" },
      /OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs/,
    ],
  ])("reject %j %j", (argv, env, pattern) => {
    expect(() => tracing(argv as string[], env as Record<string, string>)).toThrow(pattern);
  });

  it("never quote a header value in an error", () => {
    expect(() => tracing([], { OTEL_EXPORTER_OTLP_HEADERS: "secret-token" })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining("secret-token") }),
    );
  });
});
