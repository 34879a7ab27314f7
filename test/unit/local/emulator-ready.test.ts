import { describe, expect, it } from "vitest";
import { emulatorArgs, hubFlagValue, parseReadyLine } from "../../../src/local/emulator-ready.js";

const ready = {
  event: "ready",
  amqpPort: 40001,
  adminPort: 40002,
  connectionString:
    "Endpoint=sb://127.0.0.1:40001;SharedAccessKeyName=k;SharedAccessKey=s;UseDevelopmentEmulator=true",
  keyName: "k",
  key: "s",
  hubs: ["orders"],
};

describe("parseReadyLine", () => {
  it("parses the ready line and keeps the extra fields", () => {
    const info = parseReadyLine(`  ${JSON.stringify(ready)}\n`);
    expect(info).toMatchObject({ amqpPort: 40001, adminPort: 40002, keyName: "k", key: "s" });
    expect(info?.connectionString).toBe(ready.connectionString);
    expect(info?.raw.hubs).toEqual(["orders"]);
  });

  it.each([
    ["plain text", "emulator listening on 40001"],
    ["broken JSON", '{"event":"ready",'],
    ["a JSON array", "[1,2]"],
    ["another event", JSON.stringify({ ...ready, event: "hub-created" })],
    ["a log line", JSON.stringify({ level: 30, msg: "ready" })],
    ["a missing key", JSON.stringify({ ...ready, key: undefined })],
    ["a port as string", JSON.stringify({ ...ready, amqpPort: "40001" })],
    ["port zero", JSON.stringify({ ...ready, adminPort: 0 })],
    ["a fractional port", JSON.stringify({ ...ready, adminPort: 1.5 })],
  ])("ignores %s", (_what, line) => {
    expect(parseReadyLine(line)).toBeUndefined();
  });
});

describe("emulatorArgs", () => {
  it("formats hubs as name:partitions[:groups]", () => {
    expect(hubFlagValue({ name: "a", partitionCount: 4 })).toBe("a:4");
    expect(hubFlagValue({ name: "a", partitionCount: 2, consumerGroups: [] })).toBe("a:2");
    expect(hubFlagValue({ name: "b", partitionCount: 1, consumerGroups: ["x", "y"] })).toBe("b:1:x,y");
  });

  it("passes only the options that were given", () => {
    expect(emulatorArgs({ host: "127.0.0.1", port: 0, adminPort: 0 })).toEqual([
      "hub",
      "--json",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--admin-port",
      "0",
    ]);
    const args = emulatorArgs({
      host: "127.0.0.1",
      port: 5672,
      adminPort: 5680,
      hubs: [
        { name: "a", partitionCount: 2 },
        { name: "b", partitionCount: 1, consumerGroups: ["g"] },
      ],
      dataDir: "/tmp/d",
      configFile: "/tmp/c.json",
      retentionEvents: 1000,
      retentionMs: 60000,
      keyName: "owner",
      key: "secret",
      logLevel: "debug",
    });
    expect(args.slice(8)).toEqual([
      "--hub",
      "a:2",
      "--hub",
      "b:1:g",
      "--config",
      "/tmp/c.json",
      "--data",
      "/tmp/d",
      "--retention-events",
      "1000",
      "--retention-ms",
      "60000",
      "--key-name",
      "owner",
      "--key",
      "secret",
      "--log-level",
      "debug",
    ]);
  });
});
