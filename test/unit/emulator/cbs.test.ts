import { describe, expect, it } from "vitest";
import { signSas } from "../../../src/emulator/auth/sas.js";
import { ConnectionAuth, SAS_TOKEN_TYPE, UNAUTHORIZED } from "../../../src/emulator/services/cbs.js";

const KEY_NAME = "RootManageSharedAccessKey";
const KEY = "c2VjcmV0LWtleS1vbmU=";
const NOW_SEC = 1_800_000_000;
const AUDIENCE = "sb://127.0.0.1:5672/orders";

function putToken(key: string, audience: string, name = AUDIENCE, expiresAtSec = NOW_SEC + 3600) {
  const auth = new ConnectionAuth(new Map([[KEY_NAME, KEY]]), () => NOW_SEC);
  const token = signSas({ audience, keyName: KEY_NAME, key, expiresAtSec });
  return auth.putToken({ operation: "put-token", type: SAS_TOKEN_TYPE, name, token });
}

describe("CBS put-token replies", () => {
  it("accepts a good token", () => {
    expect(putToken(KEY, AUDIENCE)).toEqual({ statusCode: 202, statusDescription: "Accepted" });
  });

  it.each([
    ["a wrong key", () => putToken("bm90LXRoZS1rZXk=", AUDIENCE), /signature/],
    ["an expired token", () => putToken(KEY, AUDIENCE, AUDIENCE, NOW_SEC - 1), /expired/],
    ["another audience", () => putToken(KEY, "sb://127.0.0.1:5672/other"), /audience/],
  ])("refuses %s saying only Unauthorized, the reason kept for the log", (_what, reply, reason) => {
    const refused = reply();
    expect(refused.statusCode).toBe(401);
    expect(refused.statusDescription).toBe(UNAUTHORIZED);
    expect(refused.refusal).toMatch(reason);
  });
});
