import { describe, expect, it } from "vitest";
import { bannerLines, pidsLine } from "../../../src/dev/session.js";

describe("bannerLines", () => {
  it("prints the data directory and shell-ready connection settings", () => {
    const lines = bannerLines({
      dataDir: "/tmp/ehw-dev-1",
      eventHubConnectionString:
        "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=it's;UseDevelopmentEmulator=true",
      hub: "orders",
      storageConnectionString:
        "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=b;BlobEndpoint=http://127.0.0.1:2/a;",
      containerName: "ehw-dev",
      ratePerSecond: 200,
    });
    expect(lines[0]).toContain("/tmp/ehw-dev-1");
    expect(lines).toContain(
      "  export EHW_EVENTHUB_CONNECTION_STRING='Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=it'\\''s;UseDevelopmentEmulator=true'",
    );
    expect(lines).toContain("  export EHW_EVENTHUB_NAME='orders'");
    expect(lines).toContain(
      "  export EHW_STORAGE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=a;AccountKey=b;BlobEndpoint=http://127.0.0.1:2/a;'",
    );
    expect(lines).toContain("  export EHW_CONTAINER_NAME='ehw-dev'");
  });
});

describe("pidsLine", () => {
  it("names every process with its PID", () => {
    expect(
      pidsLine([
        { name: "azurite", pid: 10 },
        { name: "emulator", pid: 11 },
        { name: "worker-1", pid: 12 },
      ]),
    ).toBe("pids: azurite=10 emulator=11 worker-1=12");
  });
});
