import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import {
  compileEmulatorConfig,
  DEFAULT_ADMIN_PORT,
  DEFAULT_AMQP_PORT,
  DEFAULT_KEY,
  DEFAULT_KEY_NAME,
  parseConfigFile,
  parseHubFlag,
} from "../../../src/emulator/config.js";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("compileEmulatorConfig", () => {
  it("applies the documented defaults", () => {
    expect(compileEmulatorConfig({})).toEqual({
      host: "127.0.0.1",
      amqpPort: DEFAULT_AMQP_PORT,
      adminPort: DEFAULT_ADMIN_PORT,
      hubs: [{ name: "eh1", partitionCount: 4, consumerGroups: ["$Default"] }],
      keyName: DEFAULT_KEY_NAME,
      key: DEFAULT_KEY,
      dataDir: undefined,
      retentionEvents: undefined,
      retentionMs: undefined,
      handshakeTimeoutMs: 10_000,
      adminHost: "127.0.0.1",
      adminToken: undefined,
      tls: undefined,
    });
  });

  it("opens the TLS listener with --tls-port, with a development certificate unless files are given", () => {
    expect(compileEmulatorConfig({ tlsPort: "5671" }).tls).toEqual({ port: 5671, files: undefined });
    expect(compileEmulatorConfig({ tlsPort: 0, tlsCertFile: "c.pem", tlsKeyFile: "k.pem" }).tls).toEqual({
      port: 0,
      files: { certFile: "c.pem", keyFile: "k.pem" },
    });
  });

  it("says what to fix in the TLS settings", () => {
    expect(configError(() => compileEmulatorConfig({ tlsPort: 0, tlsCertFile: "c.pem" })).message).toContain(
      "--tls-cert and --tls-key go together",
    );
    expect(
      configError(() => compileEmulatorConfig({ tlsCertFile: "c.pem", tlsKeyFile: "k.pem" })).message,
    ).toContain("need --tls-port");
    expect(configError(() => compileEmulatorConfig({ amqpPort: 5671, tlsPort: 5671 })).message).toContain(
      "need ports of their own",
    );
    expect(configError(() => compileEmulatorConfig({ tlsPort: "x" })).message).toContain(
      "tlsPort (--tls-port)",
    );
  });

  it("accepts numeric strings from flags and adds $Default once", () => {
    const c = compileEmulatorConfig({
      amqpPort: "0",
      adminPort: "6000",
      retentionEvents: "100",
      hubs: [{ name: "a", partitionCount: 2, consumerGroups: ["x", "$default", "x"] }],
    });
    expect(c.amqpPort).toBe(0);
    expect(c.adminPort).toBe(6000);
    expect(c.retentionEvents).toBe(100);
    expect(c.hubs[0]?.consumerGroups).toEqual(["$Default", "x"]);
  });

  it("names the field and what is allowed when a value is bad", () => {
    expect(configError(() => compileEmulatorConfig({ amqpPort: 70000 })).message).toMatch(
      /amqpPort \(--port\).*0 to 65535/,
    );
    expect(configError(() => compileEmulatorConfig({ retentionMs: 0 })).message).toMatch(
      /retentionMs.*at least 1/,
    );
    expect(
      configError(() => compileEmulatorConfig({ hubs: [{ name: "a", partitionCount: 0 }] })).message,
    ).toMatch(/hubs\[0\].*partitionCount.*1 to 1024/);
    expect(configError(() => compileEmulatorConfig({ hubs: [{ name: "bad/name" }] })).message).toMatch(
      /hubs\[0\].*name/,
    );
    expect(
      configError(() => compileEmulatorConfig({ hubs: [{ name: "a" }, { name: "A" }] })).message,
    ).toMatch(/twice/);
    expect(configError(() => compileEmulatorConfig({ key: "" })).message).toMatch(/key \(--key\)/);
  });
});

describe("parseHubFlag", () => {
  it("parses name, name:partitions and name:partitions:groups", () => {
    expect(parseHubFlag("orders")).toEqual({ name: "orders" });
    expect(parseHubFlag("orders:8")).toEqual({ name: "orders", partitionCount: 8 });
    expect(parseHubFlag("orders:8:billing,audit")).toEqual({
      name: "orders",
      partitionCount: 8,
      consumerGroups: ["billing", "audit"],
    });
  });

  it("rejects a non-numeric partition count and extra parts", () => {
    expect(configError(() => parseHubFlag("orders:many")).message).toMatch(/--hub 'orders:many'/);
    expect(configError(() => parseHubFlag("a:1:b:c")).message).toMatch(/name\[:partitions/);
  });
});

describe("parseConfigFile", () => {
  it("reads our own shape", () => {
    const raw = parseConfigFile(
      JSON.stringify({ amqpPort: 0, hubs: [{ name: "a", partitionCount: 3 }] }),
      "f.json",
    );
    expect(compileEmulatorConfig(raw).hubs).toEqual([
      { name: "a", partitionCount: 3, consumerGroups: ["$Default"] },
    ]);
  });

  it("reads the Microsoft emulator's Config.json shape, merging namespaces", () => {
    const text = JSON.stringify({
      UserConfig: {
        NamespaceConfig: [
          {
            Type: "EventHub",
            Name: "emulatorNs1",
            Entities: [
              { Name: "eh1", PartitionCount: "2", ConsumerGroups: [{ Name: "cg1" }] },
              { Name: "eh2", PartitionCount: 1, ConsumerGroups: [] },
            ],
          },
          {
            Name: "ns2",
            Entities: [{ Name: "eh3", PartitionCount: "4", ConsumerGroups: [{ Name: "$Default" }] }],
          },
        ],
        LoggingConfig: { Type: "File" },
      },
    });
    expect(compileEmulatorConfig(parseConfigFile(text, "Config.json")).hubs).toEqual([
      { name: "eh1", partitionCount: 2, consumerGroups: ["$Default", "cg1"] },
      { name: "eh2", partitionCount: 1, consumerGroups: ["$Default"] },
      { name: "eh3", partitionCount: 4, consumerGroups: ["$Default"] },
    ]);
  });

  it("rejects invalid JSON, a non-object and a Config.json without namespaces, naming the file", () => {
    expect(configError(() => parseConfigFile("{", "x.json")).message).toMatch(/x\.json: not valid JSON/);
    expect(configError(() => parseConfigFile("[]", "x.json")).message).toMatch(
      /x\.json: expected a JSON object/,
    );
    expect(configError(() => parseConfigFile('{"UserConfig":{}}', "C.json")).message).toMatch(
      /NamespaceConfig/,
    );
    expect(
      configError(() =>
        compileEmulatorConfig(
          parseConfigFile(
            '{"UserConfig":{"NamespaceConfig":[{"Entities":[{"Name":"e","PartitionCount":"x"}]}]}}',
            "C.json",
          ),
        ),
      ).message,
    ).toMatch(/partitionCount/);
  });
});
