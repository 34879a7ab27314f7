import { describe, expect, it } from "vitest";
import {
  buildStatusReport,
  namespacePrefixesOf,
  type StatusSnapshot,
  statusJson,
} from "../../../src/inspect/index.js";

const BLOBS = [
  "127.0.0.1/orders/$default/ownership/0",
  "127.0.0.1/orders/$default/checkpoint/0",
  "127.0.0.1:5672/orders/$default/checkpoint/1",
  "localhost/other-hub/$default/checkpoint/0",
  "localhost/orders/billing/ownership/0",
  "dead-letter/orders/0/123.json",
];
const SOURCE = {
  target: { fullyQualifiedNamespace: "127.0.0.1", eventHubName: "Orders", consumerGroup: "$Default" },
  eventHubsHost: "127.0.0.1:5672",
  storageHost: "127.0.0.1:10000",
  containerName: "ckpt",
};
const snapshot = (namespacePrefixes: string[]): StatusSnapshot => ({
  partitionIds: [],
  partitions: [],
  ownerships: [],
  checkpoints: [],
  readAtMs: 0,
  namespacePrefixes,
});

describe("namespace prefixes", () => {
  it("finds the prefixes of one hub and consumer group only, compared lower-cased", () => {
    expect(namespacePrefixesOf(BLOBS, "Orders", "$Default")).toEqual(["127.0.0.1", "127.0.0.1:5672"]);
    expect(namespacePrefixesOf(BLOBS, "orders", "billing")).toEqual(["localhost"]);
  });

  it("makes ehw status warn about more than one prefix, naming them", () => {
    const report = buildStatusReport(snapshot(["127.0.0.1", "127.0.0.1:5672"]), SOURCE, 60_000);
    expect(report.prefixWarning).toContain("2 namespace prefixes (127.0.0.1, 127.0.0.1:5672)");
    expect(report.prefixWarning).toContain("Other prefixes: 127.0.0.1:5672");
    expect(statusJson(report).namespacePrefixes).toEqual(["127.0.0.1", "127.0.0.1:5672"]);
  });

  it("does not warn about a single prefix", () => {
    const report = buildStatusReport(snapshot(["127.0.0.1"]), SOURCE, 60_000);
    expect(report.prefixWarning).toBeUndefined();
    expect(statusJson(report).prefixWarning).toBeNull();
  });
});
