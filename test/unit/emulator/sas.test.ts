import { createHmac } from "node:crypto";
import { createSasTokenProvider } from "@azure/core-amqp";
import { parseEventHubConnectionString } from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { audienceCovers, signSas, verifySas } from "../../../src/emulator/auth/sas.js";

const KEYS = new Map([
  ["RootManageSharedAccessKey", "c2VjcmV0LWtleS1vbmU="],
  ["listen only", "another key"],
]);
const NOW_SEC = 1_800_000_000;
const AUDIENCE = "sb://127.0.0.1:5672/orders";

function sign(overrides: Partial<Parameters<typeof signSas>[0]> = {}): string {
  return signSas({
    audience: AUDIENCE,
    keyName: "RootManageSharedAccessKey",
    key: "c2VjcmV0LWtleS1vbmU=",
    expiresAtSec: NOW_SEC + 3600,
    ...overrides,
  });
}

describe("signSas", () => {
  it("produces the documented format with a URL-encoded audience and signature", () => {
    const token = sign();
    const sr = encodeURIComponent(AUDIENCE);
    const raw = createHmac("sha256", "c2VjcmV0LWtleS1vbmU=")
      .update(`${sr}\n${NOW_SEC + 3600}`)
      .digest("base64");
    expect(token).toBe(
      `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(raw)}&se=${NOW_SEC + 3600}&skn=RootManageSharedAccessKey`,
    );
    expect(sr).toBe("sb%3A%2F%2F127.0.0.1%3A5672%2Forders");
  });
});

describe("verifySas", () => {
  it("accepts its own tokens and returns the claims", () => {
    expect(verifySas(sign(), KEYS, NOW_SEC)).toEqual({
      ok: true,
      audience: AUDIENCE,
      keyName: "RootManageSharedAccessKey",
      expiresAtSec: NOW_SEC + 3600,
    });
  });

  it("accepts a key name that needs URL-encoding", () => {
    const check = verifySas(sign({ keyName: "listen only", key: "another key" }), KEYS, NOW_SEC);
    expect(check).toMatchObject({ ok: true, keyName: "listen only" });
  });

  it("refuses a token signed with another key", () => {
    expect(verifySas(sign({ key: "wrong" }), KEYS, NOW_SEC)).toEqual({ ok: false, reason: "bad signature" });
  });

  it("refuses a token whose audience was changed after signing", () => {
    const tampered = sign().replace("orders", "payments");
    expect(verifySas(tampered, KEYS, NOW_SEC)).toEqual({ ok: false, reason: "bad signature" });
  });

  it("refuses a token whose expiry was extended after signing", () => {
    const tampered = sign().replace(`se=${NOW_SEC + 3600}`, `se=${NOW_SEC + 7200}`);
    expect(verifySas(tampered, KEYS, NOW_SEC)).toEqual({ ok: false, reason: "bad signature" });
  });

  it("refuses an unknown key name", () => {
    expect(verifySas(sign({ keyName: "nobody" }), KEYS, NOW_SEC)).toEqual({
      ok: false,
      reason: "unknown key name",
    });
  });

  it("refuses an expired token, and one expiring exactly now", () => {
    expect(verifySas(sign({ expiresAtSec: NOW_SEC - 1 }), KEYS, NOW_SEC)).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(verifySas(sign({ expiresAtSec: NOW_SEC }), KEYS, NOW_SEC)).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(verifySas(sign({ expiresAtSec: NOW_SEC + 1 }), KEYS, NOW_SEC).ok).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["no prefix", sign().slice("SharedAccessSignature ".length)],
    ["bearer", "Bearer abc"],
    ["missing sig", sign().replace(/&sig=[^&]*/, "")],
    ["missing skn", sign().replace(/&skn=.*$/, "")],
    ["non-numeric expiry", sign().replace(/se=\d+/, "se=soon")],
    ["duplicate field", `${sign()}&sr=x`],
    ["bad escape", sign().replace("sr=", "sr=%E0%A4%A")],
    ["field without value", `${sign()}&junk`],
  ])("refuses a malformed token (%s)", (_name, token) => {
    expect(verifySas(token, KEYS, NOW_SEC)).toEqual({ ok: false, reason: "malformed token" });
  });

  it("verifies the token the SDK builds from a connection string", async () => {
    const connectionString =
      "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=RootManageSharedAccessKey;" +
      "SharedAccessKey=c2VjcmV0LWtleS1vbmU=;UseDevelopmentEmulator=true";
    // The same two calls the SDK's connection context makes for a connection string with a key.
    const parsed = parseEventHubConnectionString(connectionString);
    const provider = createSasTokenProvider(parsed as Parameters<typeof createSasTokenProvider>[0]);
    const audience = "sb://127.0.0.1:5672/orders/ConsumerGroups/$Default/Partitions/3";
    const { token, expiresOnTimestamp } = await provider.getToken(audience);
    const check = verifySas(token, KEYS, Math.floor(Date.now() / 1000));
    expect(check).toEqual({
      ok: true,
      audience,
      keyName: "RootManageSharedAccessKey",
      expiresAtSec: expiresOnTimestamp,
    });
    expect(verifySas(token, new Map([["RootManageSharedAccessKey", "other"]]), 0)).toEqual({
      ok: false,
      reason: "bad signature",
    });
  });
});

describe("audienceCovers", () => {
  const hub = "sb://127.0.0.1:5672/orders";

  it.each([
    "orders",
    "orders/Partitions/0",
    "orders/ConsumerGroups/$Default/Partitions/3",
    "orders/$management",
    "sb://127.0.0.1:5672/orders/Partitions/0",
    "amqps://localhost/ORDERS/partitions/1",
    "amqp://127.0.0.1:1234/orders/ConsumerGroups/%24Default/Partitions/3",
    "/orders/",
  ])("a hub token covers %s", (resource) => {
    expect(audienceCovers(hub, resource)).toBe(true);
  });

  it.each(["ordersx", "ab", "other/Partitions/0", "$management", "sb://127.0.0.1:5672/payments"])(
    "a hub token does not cover %s",
    (resource) => {
      expect(audienceCovers(hub, resource)).toBe(false);
    },
  );

  it("a token for hub a does not cover hub ab", () => {
    expect(audienceCovers("sb://h/a", "ab")).toBe(false);
    expect(audienceCovers("sb://h/a", "sb://h/ab/Partitions/0")).toBe(false);
    expect(audienceCovers("sb://h/a", "a/Partitions/0")).toBe(true);
  });

  it("a partition token covers only that partition", () => {
    const token = `${hub}/Partitions/1`;
    expect(audienceCovers(token, "orders/Partitions/1")).toBe(true);
    expect(audienceCovers(token, "orders/Partitions/10")).toBe(false);
    expect(audienceCovers(token, "orders")).toBe(false);
  });

  it("a namespace-wide token covers everything", () => {
    expect(audienceCovers("sb://127.0.0.1:5672/", "orders/Partitions/0")).toBe(true);
    expect(audienceCovers("sb://127.0.0.1:5672", "$management")).toBe(true);
  });
});
