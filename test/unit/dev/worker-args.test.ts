import { describe, expect, it } from "vitest";
import { readRawWorkerOptions } from "../../../src/config/source.js";
import { compileWorkerConfig } from "../../../src/config/worker.js";
import {
  DEV_CONTAINER_NAME,
  type DevWorkerArgsInput,
  devWorkerArgs,
  ledgerFile,
  workerLogFile,
} from "../../../src/dev/worker-args.js";

const input: DevWorkerArgsInput = {
  ownerId: "worker-2",
  eventHubConnectionString:
    "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=c2VjcmV0;UseDevelopmentEmulator=true",
  hub: "orders",
  storageConnectionString:
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
  dataDir: "/tmp/dev",
  handler: "ledger",
  checkpointEvery: undefined,
  statusLines: false,
};

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

describe("devWorkerArgs", () => {
  it("runs the worker with its owner id, ledger file and dev timing", () => {
    const args = devWorkerArgs(input);
    expect(args[0]).toBe("run");
    expect(flag(args, "--owner-id")).toBe("worker-2");
    expect(flag(args, "--handler")).toBe("ledger");
    expect(flag(args, "--ledger-file")).toBe(ledgerFile("/tmp/dev", "worker-2"));
    expect(flag(args, "--container-name")).toBe(DEV_CONTAINER_NAME);
    expect(flag(args, "--strategy")).toBe("greedy");
    expect(flag(args, "--update-interval-ms")).toBe("2000");
    expect(flag(args, "--ownership-expiration-ms")).toBe("10000");
    expect(flag(args, "--retry-delay-ms")).toBe("200");
    expect(args).not.toContain("--checkpoint-every");
    expect(args).not.toContain("--status-interval-ms");
  });

  it("is a command line the worker's own configuration accepts", () => {
    const { raw } = readRawWorkerOptions(devWorkerArgs(input).slice(1), {}, "/");
    const config = compileWorkerConfig(raw, { baseDir: "/", randomUUID: () => "unused" });
    expect(config.storage.containerName).toBe(DEV_CONTAINER_NAME);
    expect(config.eventHubs.eventHubName).toBe("orders");
  });

  it("passes other handlers without a ledger file, and optional flags when given", () => {
    const args = devWorkerArgs({ ...input, handler: "log", checkpointEvery: 25, statusLines: true });
    expect(args).not.toContain("--ledger-file");
    expect(flag(args, "--checkpoint-every")).toBe("25");
    expect(flag(args, "--status-interval-ms")).toBe("1000");
  });

  it("puts ledgers and logs under the data directory, one file per worker", () => {
    expect(ledgerFile("/d", "worker-1")).toBe("/d/ledger/worker-1.jsonl");
    expect(workerLogFile("/d", "worker-1")).toBe("/d/logs/worker-1.log");
  });
});
