import { describe, expect, it } from "vitest";
import { azuriteArgs } from "../../../src/local/azurite.js";

describe("azuriteArgs", () => {
  it("runs Azurite's blob service on the given address and data directory, without its access log", () => {
    const args = azuriteArgs("/azurite/blob.js", "127.0.0.1", 10000, "/tmp/data");
    expect(args.slice(0, 7)).toEqual([
      "/azurite/blob.js",
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      "10000",
      "--location",
      "/tmp/data",
    ]);
    expect(args).toContain("--silent");
  });

  it("keeps the access log when Azurite's output is shown", () => {
    expect(azuriteArgs("/azurite/blob.js", "127.0.0.1", 10000, "/tmp/data", true)).not.toContain("--silent");
  });
});
