import { describe, expect, it } from "vitest";
import {
  blobNamespace,
  checkpointBlobPrefixes,
  translateStorageError,
} from "../../../src/checkpoint/blob-store.js";
import { ConfigError, ConnectionError } from "../../../src/common/errors.js";
import type { WorkerConfig } from "../../../src/config/worker.js";
import { translateEventHubsError } from "../../../src/worker/connect.js";

const where = { host: "acct.blob.core.windows.net", containerName: "ckpt", operation: "check the container" };

describe("translateStorageError", () => {
  it("names the host for an unreachable endpoint (code on a nested cause)", () => {
    const err = Object.assign(new Error("connect ECONNREFUSED"), {
      name: "RestError",
      code: "REQUEST_SEND_ERROR",
      cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
    });
    const translated = translateStorageError(err, where);
    expect(translated).toBeInstanceOf(ConnectionError);
    expect(translated.message).toContain("cannot reach blob storage at acct.blob.core.windows.net");
    expect(translated.cause).toBe(err);
  });

  it("says to check the key or role on 403", () => {
    const translated = translateStorageError(Object.assign(new Error("denied"), { statusCode: 403 }), where);
    expect(translated).toBeInstanceOf(ConnectionError);
    expect(translated.retriable).toBe(false);
    expect(translated.message).toContain("check the AccountKey");
    expect(translated.message).toContain("role assignment");
  });

  it("reports a credential that could not get a token", () => {
    const err = Object.assign(new Error("no"), { name: "CredentialUnavailableError" });
    expect(translateStorageError(err, where).message).toContain("DefaultAzureCredential");
  });
});

describe("blob prefixes", () => {
  it("drop the port and lower-case namespace, hub and consumer group", () => {
    expect(blobNamespace("127.0.0.1:5672")).toBe("127.0.0.1");
    expect(blobNamespace("MyNs.servicebus.windows.net")).toBe("myns.servicebus.windows.net");
    expect(blobNamespace("sb://MyNs.servicebus.windows.net/")).toBe("myns.servicebus.windows.net");
    expect(blobNamespace("[::1]:5672")).toBe("::1");
    const prefixes = checkpointBlobPrefixes({
      fullyQualifiedNamespace: "Localhost:5672",
      eventHubName: "Orders",
      consumerGroup: "$Default",
    });
    expect(prefixes).toEqual({
      root: "localhost/orders/$default/",
      ownership: "localhost/orders/$default/ownership/",
      checkpoint: "localhost/orders/$default/checkpoint/",
    });
  });
});

describe("translateEventHubsError", () => {
  const config = {
    eventHubs: {
      endpointHost: "ns.servicebus.windows.net",
      eventHubName: "orders",
      consumerGroup: "$Default",
    },
  } as unknown as WorkerConfig;

  it("turns a missing hub into a ConfigError naming the hub and the setting", () => {
    const err = Object.assign(new Error("not found"), {
      name: "MessagingError",
      code: "MessagingEntityNotFoundError",
    });
    const translated = translateEventHubsError(err, config, 1000);
    expect(translated).toBeInstanceOf(ConfigError);
    expect(translated.message).toContain('"orders"');
    expect(translated.message).toContain("eventHubName");
  });

  it("says to check the key on UnauthorizedError", () => {
    const err = Object.assign(new Error("401"), { name: "MessagingError", code: "UnauthorizedError" });
    expect(translateEventHubsError(err, config, 1000).message).toContain("SharedAccessKey");
  });

  it("names the host when it cannot be reached, and the time limit when nothing answered", () => {
    const refused = Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    expect(translateEventHubsError(refused, config, 1000).message).toContain(
      "cannot reach Event Hubs at ns.servicebus.windows.net",
    );
    const aborted = Object.assign(new Error("aborted"), { name: "AbortError" });
    expect(translateEventHubsError(aborted, config, 1234).message).toContain("within 1234 ms");
  });
});
