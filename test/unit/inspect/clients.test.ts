import type { AccessToken, TokenCredential } from "@azure/identity";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, ConnectionError } from "../../../src/common/errors.js";
import type { RawWorkerOptions } from "../../../src/config/worker.js";
import {
  compileInspectConfig,
  type InspectClients,
  openInspectClients,
  translateEventHubsError,
} from "../../../src/inspect/index.js";

const KEY = "c2VjcmV0LWtleS1ub3QtdG8tbGVhaw==";

function env(name: string, value: string) {
  return { value, source: { kind: "env" as const, name } };
}

const opened: InspectClients[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

/** A credential that is never asked for a token: building clients must not touch the network. */
const NO_TOKEN: TokenCredential = {
  getToken: async (): Promise<AccessToken | null> => {
    throw new Error("no token in unit tests");
  },
};

describe("openInspectClients", () => {
  it("names blobs after the SDK's namespace: the emulator Endpoint host without its port", () => {
    const raw: RawWorkerOptions = {
      eventHubConnectionString: env(
        "EHW_EVENTHUB_CONNECTION_STRING",
        `Endpoint=sb://127.0.0.1:5673;SharedAccessKeyName=root;SharedAccessKey=${KEY};UseDevelopmentEmulator=true`,
      ),
      eventHubName: env("EHW_EVENTHUB_NAME", "Orders"),
      consumerGroup: env("EHW_CONSUMER_GROUP", "Audit"),
      storageConnectionString: env(
        "EHW_STORAGE_CONNECTION_STRING",
        `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`,
      ),
      containerName: env("EHW_CONTAINER_NAME", "ckpt"),
    };
    const clients = openInspectClients(compileInspectConfig(raw));
    opened.push(clients);
    expect(clients.target).toEqual({
      fullyQualifiedNamespace: "127.0.0.1",
      eventHubName: "Orders",
      consumerGroup: "Audit",
    });
    expect(clients.eventHubsHost).toBe("127.0.0.1:5673");
    expect(clients.storageHost).toBe("127.0.0.1:10000");
  });

  it("uses the namespace and account URL with a credential (Entra ID)", () => {
    const raw: RawWorkerOptions = {
      eventHubNamespace: env("EHW_EVENTHUB_NAMESPACE", "myns.servicebus.windows.net"),
      eventHubName: env("EHW_EVENTHUB_NAME", "orders"),
      storageAccountUrl: env("EHW_STORAGE_ACCOUNT_URL", "https://acct.blob.core.windows.net"),
      containerName: env("EHW_CONTAINER_NAME", "ckpt"),
    };
    const clients = openInspectClients(compileInspectConfig(raw), { credential: NO_TOKEN });
    opened.push(clients);
    expect(clients.target.fullyQualifiedNamespace).toBe("myns.servicebus.windows.net");
    expect(clients.storageHost).toBe("acct.blob.core.windows.net");
  });
});

describe("translateEventHubsError", () => {
  const where = { host: "127.0.0.1:5672", eventHubName: "orders", operation: "read its partitions" };
  const sdkError = (code: string, message = `boom ${code}`) => Object.assign(new Error(message), { code });

  it.each([
    ["MessagingEntityNotFoundError", /event hub 'orders' at 127\.0\.0\.1:5672 does not exist/],
    ["UnauthorizedError", /refused our credentials/],
    ["ECONNREFUSED", /cannot reach event hub 'orders' .*\(ECONNREFUSED\)/],
  ])("classifies %s by its code", (code, pattern) => {
    const error = translateEventHubsError(sdkError(code), where);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toMatch(pattern);
  });

  it("finds the code inside the AggregateError of the SDK's retries", () => {
    const error = translateEventHubsError(new AggregateError([sdkError("ECONNREFUSED")]), where);
    expect(error.message).toMatch(/cannot reach/);
    expect(error.retriable).toBe(true);
  });

  it("classifies credential failures by error name", () => {
    const err = Object.assign(new Error("no identity"), { name: "CredentialUnavailableError" });
    expect(translateEventHubsError(err, where).message).toMatch(
      /DefaultAzureCredential could not get a token/,
    );
  });

  it("keeps the first line of anything else, without secrets, and keeps the cause", () => {
    const err = sdkError("Weird", `went wrong SharedAccessKey=${KEY};x\nsecond line`);
    const error = translateEventHubsError(err, where);
    expect(error.message).toContain("went wrong");
    expect(error.message).not.toContain(KEY);
    expect(error.message).not.toContain("second line");
    expect(error.cause).toBe(err);
  });

  it("passes our own errors through", () => {
    const own = new ConfigError("already clear");
    expect(translateEventHubsError(own, where)).toBe(own);
  });
});
