import { afterEach, describe, expect, it, vi } from "vitest";
import { metadataAuthFor, metadataStringToSign } from "../../../src/checkpoint/metadata-writer.js";

afterEach(() => {
  vi.unstubAllEnvs();
});

const KEY = Buffer.from("a secret account key").toString("base64");

describe("metadataAuthFor", () => {
  it("signs with the account key of a key connection string, decoded from base64", () => {
    const auth = metadataAuthFor(
      `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.windows.net`,
    );
    expect(auth).toEqual({
      kind: "sharedKey",
      accountName: "acct",
      accountKey: Buffer.from("a secret account key"),
    });
  });

  it("appends the SAS of a SAS connection string, whose value holds '=' and may start with '?'", () => {
    const auth = metadataAuthFor(
      "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=?sv=2021-12-02&sig=ab%3D",
    );
    expect(auth).toEqual({ kind: "sas", query: "sv=2021-12-02&sig=ab%3D" });
  });

  it("leaves to the SDK what it cannot do the same way: no connection string, no key or SAS, a proxy", () => {
    expect(metadataAuthFor(undefined)).toBeUndefined();
    expect(metadataAuthFor("UseDevelopmentStorage=true")).toBeUndefined();
    vi.stubEnv("HTTPS_PROXY", "http://proxy.example:3128");
    expect(metadataAuthFor(`AccountName=acct;AccountKey=${KEY}`)).toBeUndefined();
  });
});

describe("metadataStringToSign", () => {
  it("puts If-Match in its place, the x-ms- headers sorted, then account, path and comp", () => {
    const text = metadataStringToSign("acct", "/c/b%24x", '"0x8D"', {
      "x-ms-version": "2021-12-02",
      "x-ms-date": "Sun, 22 Nov 2026 03:00:00 GMT",
      "x-ms-meta-offset": "70",
    });
    const lines = text.split("\n");
    expect(lines[0]).toBe("PUT");
    expect(lines.slice(1, 8)).toEqual(["", "", "", "", "", "", ""]);
    expect(lines[8]).toBe('"0x8D"');
    expect(lines.slice(9, 12)).toEqual(["", "", ""]);
    expect(lines.slice(12)).toEqual([
      "x-ms-date:Sun, 22 Nov 2026 03:00:00 GMT",
      "x-ms-meta-offset:70",
      "x-ms-version:2021-12-02",
      "/acct/c/b%24x",
      "comp:metadata",
    ]);
  });
});
