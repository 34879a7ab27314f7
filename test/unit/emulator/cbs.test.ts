import { describe, expect, it } from "vitest";
import { signSas } from "../../../src/emulator/auth/sas.js";
import {
  ConnectionAuth,
  JWT_TOKEN_TYPE,
  SAS_TOKEN_TYPE,
  UNAUTHORIZED,
} from "../../../src/emulator/services/cbs.js";

const KEY_NAME = "RootManageSharedAccessKey";
const KEY = "c2VjcmV0LWtleS1vbmU=";
const NOW_SEC = 1_800_000_000;
const AUDIENCE = "sb://127.0.0.1:5672/orders";

function putToken(
  key: string,
  audience: string,
  name = AUDIENCE,
  expiresAtSec = NOW_SEC + 3600,
  type: string = SAS_TOKEN_TYPE,
) {
  const auth = new ConnectionAuth(new Map([[KEY_NAME, KEY]]), () => NOW_SEC);
  const token = signSas({ audience, keyName: KEY_NAME, key, expiresAtSec });
  return auth.putToken({ operation: "put-token", type, name, token });
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

  it("accepts a SAS token put with type jwt, as the Python SDK sends it, still checking it", () => {
    const jwt = (key: string, audience = AUDIENCE, expiresAtSec = NOW_SEC + 3600) =>
      putToken(key, audience, AUDIENCE, expiresAtSec, "jwt");
    expect(jwt(KEY)).toEqual({ statusCode: 202, statusDescription: "Accepted" });
    expect(jwt("bm90LXRoZS1rZXk=").statusCode).toBe(401);
    expect(jwt(KEY, AUDIENCE, NOW_SEC - 1).statusCode).toBe(401);
    expect(jwt(KEY, "sb://127.0.0.1:5672/other").statusCode).toBe(401);
  });

  it("refuses other token types with 400 naming the accepted ones", () => {
    const reply = putToken(KEY, AUDIENCE, AUDIENCE, NOW_SEC + 3600, "urn:example:other");
    expect(reply.statusCode).toBe(400);
    expect(reply.statusDescription).toContain(SAS_TOKEN_TYPE);
    expect(reply.statusDescription).toContain(JWT_TOKEN_TYPE);
  });
});
