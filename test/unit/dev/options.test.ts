import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { compileDevOptions, DEV_DEFAULTS } from "../../../src/dev/options.js";

describe("compileDevOptions", () => {
  it("applies the defaults", () => {
    expect(compileDevOptions({})).toEqual({
      dataDir: undefined,
      hub: DEV_DEFAULTS.hub,
      partitions: 8,
      workers: 3,
      ratePerSecond: 200,
      keys: 32,
      handler: "ledger",
      checkpointEvery: undefined,
      summaryIntervalMs: 5000,
      durationMs: undefined,
      eventHubPort: 0,
      storagePort: 0,
      plain: false,
      tracing: false,
      collectorTracesUrl: undefined,
      producerTracing: undefined,
    });
  });

  it("parses strings from the command line", () => {
    const options = compileDevOptions({
      dataDir: " /tmp/d ",
      hub: "payments",
      partitions: "4",
      workers: "0",
      rate: "12.5",
      keys: "3",
      handler: "log",
      checkpointEvery: "10",
      summaryIntervalMs: "250",
      durationMs: "20000",
      eventHubPort: "5672",
      storagePort: "10000",
      plain: true,
    });
    expect(options).toMatchObject({
      dataDir: "/tmp/d",
      hub: "payments",
      partitions: 4,
      workers: 0,
      ratePerSecond: 12.5,
      keys: 3,
      handler: "log",
      checkpointEvery: 10,
      summaryIntervalMs: 250,
      durationMs: 20000,
      eventHubPort: 5672,
      storagePort: 10000,
      plain: true,
    });
  });

  it("gives the producer enough keys to reach every partition", () => {
    expect(compileDevOptions({ partitions: "4" }).keys).toBe(32);
    expect(compileDevOptions({ partitions: "16" }).keys).toBe(64);
  });

  it("sends traces to its own receiver unless the OTEL_* variables name a collector", () => {
    expect(compileDevOptions({ tracing: true })).toMatchObject({
      tracing: true,
      collectorTracesUrl: undefined,
    });
    expect(
      compileDevOptions({ tracing: true, otelVariables: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" } }),
    ).toMatchObject({
      tracing: true,
      collectorTracesUrl: "http://c:4318/v1/traces",
      producerTracing: {
        mode: "otlp",
        serviceName: "ehw-dev-producer",
        tracesUrl: "http://c:4318/v1/traces",
      },
    });
    // Without --tracing the variables change nothing.
    expect(
      compileDevOptions({ otelVariables: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" } })
        .collectorTracesUrl,
    ).toBeUndefined();
    expect(() =>
      compileDevOptions({
        tracing: true,
        otelVariables: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" },
      }),
    ).toThrow(/OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http\(s\) URL/);
  });

  it("accepts --rate 0 as no producer", () => {
    expect(compileDevOptions({ rate: "0" }).ratePerSecond).toBe(0);
  });

  it.each([
    [{ partitions: "0" }, /--partitions must be a whole number from 1 to 1024 \(got "0"\)/],
    [{ workers: "33" }, /--workers must be a whole number from 0 to 32/],
    [{ workers: "two" }, /--workers .*got "two"/],
    [{ rate: "-5" }, /--rate must be events per second from 0/],
    [{ rate: "fast" }, /--rate/],
    [{ summaryIntervalMs: "10" }, /--summary-interval-ms must be a whole number from 100/],
    [{ durationMs: "0" }, /--duration-ms must be a whole number from 1/],
    [{ eventHubPort: "70000" }, /--eventhub-port must be a whole number from 0 to 65535/],
    [{ hub: "bad name!" }, /--hub must start with a letter or digit/],
    [{ hub: " " }, /--hub must be a non-empty string/],
    [{ dataDir: "" }, /--data must be a non-empty string/],
    [{ checkpointEvery: "0" }, /--checkpoint-every must be a whole number from 1/],
  ])("rejects %o naming the flag", (raw, message) => {
    expect(() => compileDevOptions(raw)).toThrow(ConfigError);
    expect(() => compileDevOptions(raw)).toThrow(message);
  });
});
