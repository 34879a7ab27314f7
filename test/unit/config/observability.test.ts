import { describe, expect, it } from "vitest";
import { describeConfig } from "../../../src/config/worker.js";
import { baseEnv, compile, messageOf } from "./helpers.js";

describe("observability settings", () => {
  it("default to port 9464 on 127.0.0.1, marked as the default, and no status line", () => {
    expect(compile().observability).toEqual({
      metricsPort: 9464,
      metricsPortIsDefault: true,
      metricsHost: "127.0.0.1",
      statusIntervalMs: 0,
      hubRetentionMs: undefined,
      tracing: expect.objectContaining({ mode: "off" }),
    });
  });

  it("read flags and env", () => {
    const config = compile(["--metrics-port", "0", "--status-interval-ms", "2000"], {
      ...baseEnv(),
      EHW_METRICS_HOST: "0.0.0.0",
    });
    expect(config.observability).toEqual({
      metricsPort: 0,
      metricsPortIsDefault: false,
      metricsHost: "0.0.0.0",
      statusIntervalMs: 2000,
      hubRetentionMs: undefined,
      tracing: expect.objectContaining({ mode: "off" }),
    });
  });

  it("turn metrics off with 'off'", () => {
    expect(compile([], { ...baseEnv(), EHW_METRICS_PORT: "off" }).observability.metricsPort).toBeUndefined();
  });

  it.each(["65536", "-1", "9464x", "on"])("reject metrics port %s, naming the allowed values", (value) => {
    const message = messageOf(() => compile([], { ...baseEnv(), EHW_METRICS_PORT: value }));
    expect(message).toContain(`EHW_METRICS_PORT="${value}"`);
    expect(message).toContain("is not a TCP port (0-65535) or off");
  });

  it("reject a negative or non-numeric status interval and an empty host", () => {
    expect(messageOf(() => compile(["--status-interval-ms", "soon"]))).toContain("--status-interval-ms");
    expect(messageOf(() => compile(["--metrics-host", " 0.0.0.0"]))).toContain("--metrics-host");
  });

  it("appear in describeConfig", () => {
    expect(describeConfig(compile()).observability).toMatchObject({
      metricsPort: 9464,
      metricsHost: "127.0.0.1",
    });
  });
});
