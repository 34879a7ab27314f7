import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { readRawInspectOptions } from "../../../src/config/command-source.js";
import { choosePartitions, compileInspectConfig } from "../../../src/inspect/index.js";

const EH_KEY = "c2VjcmV0LWV2ZW50aHVicy1rZXk=";
const EH = `Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=root;SharedAccessKey=${EH_KEY};UseDevelopmentEmulator=true`;
const ST_KEY = "c2VjcmV0LXN0b3JhZ2Uta2V5";
const ST = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${ST_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`;
const ENV = {
  EHW_EVENTHUB_CONNECTION_STRING: EH,
  EHW_EVENTHUB_NAME: "orders",
  EHW_STORAGE_CONNECTION_STRING: ST,
  EHW_CONTAINER_NAME: "ckpt",
};
const STATUS_FLAGS = { json: { type: "boolean" } } as const;
const RESET_FLAGS = {
  to: { type: "string" },
  partition: { type: "string", multiple: true },
  force: { type: "boolean" },
} as const;

function read(argv: string[], env: NodeJS.ProcessEnv = ENV, flags = STATUS_FLAGS as object) {
  return readRawInspectOptions("status", argv, flags as typeof STATUS_FLAGS, env, "/");
}

describe("readRawInspectOptions", () => {
  it("reads the worker's env names and the command's flags", () => {
    const result = read(["--json"]);
    expect(result.flags).toEqual({ json: true });
    expect(result.raw.eventHubName).toEqual({
      value: "orders",
      source: { kind: "env", name: "EHW_EVENTHUB_NAME" },
    });
    expect(Object.keys(result.raw).sort()).toEqual([
      "containerName",
      "eventHubConnectionString",
      "eventHubName",
      "storageConnectionString",
    ]);
  });

  it("lets a flag win over env", () => {
    const result = read(["--eventhub-name", "payments", "--ownership-expiration-ms", "20000"]);
    expect(result.raw.eventHubName?.value).toBe("payments");
    expect(result.raw.ownershipExpirationMs).toEqual({
      value: "20000",
      source: { kind: "flag", name: "--ownership-expiration-ms" },
    });
  });

  it("collects a repeatable command flag and rejects a repeated single one", () => {
    const ok = readRawInspectOptions(
      "checkpoints reset",
      ["--partition", "0", "--partition", "3"],
      RESET_FLAGS,
      ENV,
      "/",
    );
    expect(ok.flags.partition).toEqual(["0", "3"]);
    expect(() =>
      readRawInspectOptions(
        "checkpoints reset",
        ["--to", "latest", "--to", "earliest"],
        RESET_FLAGS,
        ENV,
        "/",
      ),
    ).toThrow(/--to is given more than once/);
  });

  it("rejects a worker-only flag and suggests a close known one", () => {
    expect(() => read(["--checkpoint-every", "5"])).toThrow(
      /unknown option --checkpoint-every; see 'ehw status --help'/,
    );
    expect(() => read(["--jsn"])).toThrow(/did you mean --json\?/);
  });

  it("never quotes a stray connection string", () => {
    let message = "";
    try {
      read([EH]);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/invalid command line/);
    expect(message).not.toContain(EH_KEY);
  });

  it("returns help without reading anything else", () => {
    expect(read(["--help", "--config", "/does/not/exist.json"])).toEqual({ raw: {}, flags: {}, help: true });
  });

  it("reads the worker's config file, ignoring worker-only keys", () => {
    const dir = mkdtempSync(join(tmpdir(), "ehw-inspect-"));
    const path = join(dir, "worker.json");
    writeFileSync(
      path,
      JSON.stringify({
        containerName: "from-file",
        checkpointEvery: 10,
        handlers: {},
        ownershipExpirationMs: 30000,
      }),
    );
    const result = read(["--config", path], { EHW_EVENTHUB_NAME: "orders" });
    expect(result.raw.containerName?.value).toBe("from-file");
    expect(result.raw.ownershipExpirationMs?.value).toBe(30000);
    expect(result.raw).not.toHaveProperty("checkpointEvery");
  });
});

describe("compileInspectConfig", () => {
  it("compiles the connection settings with the worker's rules and defaults the expiry to the worker's, 15000", () => {
    const config = compileInspectConfig(read([]).raw);
    expect(config.eventHubs).toMatchObject({
      eventHubName: "orders",
      consumerGroup: "$Default",
      endpointHost: "127.0.0.1:5672",
    });
    expect(config.storage.containerName).toBe("ckpt");
    expect(config.ownershipExpirationMs).toBe(15_000);
  });

  it("accepts an expiry below 3 × the worker's default update interval (not this command's concern)", () => {
    expect(compileInspectConfig(read(["--ownership-expiration-ms", "5000"]).raw).ownershipExpirationMs).toBe(
      5000,
    );
  });

  it.each([
    [["--ownership-expiration-ms", "0"], /--ownership-expiration-ms="0" is not a positive integer/],
    [["--ownership-expiration-ms", "60s"], /is not a positive integer/],
    [["--container-name", "Bad_Name"], /--container-name="Bad_Name" may contain only/],
  ])("rejects %j", (argv, pattern) => {
    expect(() => compileInspectConfig(read(argv).raw)).toThrow(pattern);
  });

  it("needs exactly one Event Hubs connection, and never quotes a secret", () => {
    const { EHW_EVENTHUB_CONNECTION_STRING: _, ...noHub } = ENV;
    expect(() => compileInspectConfig(read([], noHub).raw)).toThrow(/no Event Hubs connection/);
    let message = "";
    try {
      compileInspectConfig(read(["--eventhub-namespace", "ns.servicebus.windows.net"]).raw);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/conflicts with/);
    expect(message).not.toContain(EH_KEY);
  });

  it("accepts namespace and account URL (DefaultAzureCredential)", () => {
    const config = compileInspectConfig(
      read([], {
        EHW_EVENTHUB_NAMESPACE: "ns.servicebus.windows.net",
        EHW_EVENTHUB_NAME: "orders",
        EHW_STORAGE_ACCOUNT_URL: "https://acct.blob.core.windows.net",
        EHW_CONTAINER_NAME: "ckpt",
      }).raw,
    );
    expect(config.eventHubs.fullyQualifiedNamespace).toBe("ns.servicebus.windows.net");
    expect(config.storage.accountUrl).toBe("https://acct.blob.core.windows.net");
  });
});

describe("choosePartitions", () => {
  it("defaults to all, keeps the order given, drops repeats", () => {
    expect(choosePartitions([], ["0", "1", "2"])).toEqual(["0", "1", "2"]);
    expect(choosePartitions(["2", "0", "2"], ["0", "1", "2"])).toEqual(["2", "0"]);
  });
  it("rejects a partition the hub does not have, listing the real ones", () => {
    expect(() => choosePartitions(["7"], ["0", "1"])).toThrow(ConfigError);
    expect(() => choosePartitions(["7"], ["0", "1"])).toThrow(/--partition 7: .*partitions: 0, 1/);
  });
});
