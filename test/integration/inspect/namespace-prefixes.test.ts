/**
 * `ehw status`'s namespace-prefix check against a real Azurite: it finds every prefix that holds
 * records of the hub and group, ignores other hubs, groups and unrelated blobs, and reads the
 * container by hierarchy rather than blob by blob.
 */
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNamespacePrefixes } from "../../../src/inspect/namespace-prefixes.js";
import { testStack, uniqueName } from "../../helpers/stack.js";

let container: ContainerClient;

beforeAll(async () => {
  const { azurite } = testStack();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    uniqueName("prefixes"),
  );
  await container.create();
  const names = [
    "127.0.0.1/orders/$default/ownership/0",
    "127.0.0.1/orders/$default/checkpoint/0",
    "127.0.0.1:5672/orders/$default/checkpoint/3",
    "localhost/orders/billing/ownership/1",
    "other-ns/payments/$default/ownership/0",
    "top-level-file.txt",
    ...Array.from({ length: 120 }, (_, i) => `unrelated/archive/${i}.avro`),
  ];
  await Promise.all(names.map((name) => container.getBlockBlobClient(name).upload("", 0)));
});

afterAll(async () => {
  await container?.deleteIfExists();
});

describe("readNamespacePrefixes", () => {
  const where = () => ({ host: "azurite", containerName: container.containerName });

  it("lists the prefixes that hold records of the hub and group, case-insensitively", async () => {
    expect(await readNamespacePrefixes(container, where(), "Orders", "$Default")).toEqual([
      "127.0.0.1",
      "127.0.0.1:5672",
    ]);
    expect(await readNamespacePrefixes(container, where(), "orders", "billing")).toEqual(["localhost"]);
  });

  it("finds none for a hub without records", async () => {
    expect(await readNamespacePrefixes(container, where(), "nothing", "$default")).toEqual([]);
  });
});
