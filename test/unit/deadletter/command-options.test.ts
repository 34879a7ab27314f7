import { describe, expect, it } from "vitest";
import type { RawWorkerOptions } from "../../../src/config/worker.js";
import { compileDeadLetterCommandOptions } from "../../../src/deadletter/command-options.js";
import { withoutEntityPath } from "../../../src/deadletter/producer.js";
import { configErrorOf } from "../config/helpers.js";

const KEY = "c2VjcmV0a2V5";
const env = (name: string, value: string) => ({ value, source: { kind: "env" as const, name } });
const RAW: RawWorkerOptions = {
  eventHubConnectionString: env(
    "EHW_EVENTHUB_CONNECTION_STRING",
    `Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=${KEY};UseDevelopmentEmulator=true`,
  ),
  eventHubName: env("EHW_EVENTHUB_NAME", "orders"),
  storageConnectionString: env("EHW_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true"),
  containerName: env("EHW_CONTAINER_NAME", "checkpoints"),
  ownershipExpirationMs: env("EHW_OWNERSHIP_EXPIRATION_MS", "1000"),
};

describe("compileDeadLetterCommandOptions", () => {
  it("uses the worker's settings and derives the dead-letter container", () => {
    const options = compileDeadLetterCommandOptions("list", RAW, {}, "/tmp");
    expect(options).toMatchObject({
      action: "list",
      deadLetterContainer: "checkpoints-deadletter",
      partitionId: undefined,
      pipeline: undefined,
      limit: undefined,
      json: false,
      toHub: undefined,
      dryRun: false,
    });
    expect(options.eventHubs).toMatchObject({ eventHubName: "orders", consumerGroup: "$Default" });
  });

  it("takes the replay flags", () => {
    const options = compileDeadLetterCommandOptions(
      "replay",
      { ...RAW, deadLetterContainer: env("EHW_DEAD_LETTER_CONTAINER", "dead-orders") },
      {
        partition: "2",
        pipeline: "audit",
        limit: "10",
        json: true,
        "to-hub": "orders-retry",
        "dry-run": true,
      },
      "/tmp",
    );
    expect(options).toMatchObject({
      deadLetterContainer: "dead-orders",
      partitionId: "2",
      pipeline: "audit",
      limit: 10,
      json: true,
      toHub: "orders-retry",
      dryRun: true,
    });
  });

  it.each([
    [{ limit: "0" }, "--limit", /whole number ≥ 1/],
    [{ limit: "ten" }, "--limit", /whole number ≥ 1/],
    [{ partition: "" }, "--partition", /must not be empty/],
  ])("rejects %j naming %s", (flags, setting, message) => {
    const err = configErrorOf(() => compileDeadLetterCommandOptions("replay", RAW, flags, "/tmp"));
    expect(err.context.setting).toBe(setting);
    expect(err.message).toMatch(message);
  });

  it("rejects missing connection settings without quoting a key", () => {
    const { storageConnectionString: _s, ...noStorage } = RAW;
    const err = configErrorOf(() => compileDeadLetterCommandOptions("list", noStorage, {}, "/tmp"));
    expect(err.message).toMatch(/checkpoint storage/);
    expect(err.message).not.toContain(KEY);
  });
});

describe("withoutEntityPath", () => {
  it("drops EntityPath and keeps the rest", () => {
    expect(
      withoutEntityPath("Endpoint=sb://h/;SharedAccessKeyName=k;SharedAccessKey=x;EntityPath=orders"),
    ).toBe("Endpoint=sb://h/;SharedAccessKeyName=k;SharedAccessKey=x");
  });
});
