import { describe, expect, it } from "vitest";
import {
  EVENT_HUBS_UNREACHABLE_CODES,
  errorChain,
  errorCodes,
  errorNames,
  isCredentialFailure,
  isUnreachable,
  STORAGE_UNREACHABLE_CODES,
} from "../../../src/common/connectivity.js";

const withCode = (code: string, extra: object = {}): Error => Object.assign(new Error("x"), { code }, extra);

describe("errorChain", () => {
  it("walks causes and aggregate members depth first, each object once", () => {
    const leaf = withCode("ECONNREFUSED");
    const inner = Object.assign(new Error("inner"), { cause: leaf });
    const aggregate = new AggregateError([inner, leaf], "all failed");
    const top = Object.assign(new Error("top"), { cause: aggregate });
    (leaf as { cause?: unknown }).cause = top;
    expect(errorChain(top)).toEqual([top, aggregate, inner, leaf]);
  });

  it("is empty for non-objects", () => {
    expect(errorChain(undefined)).toEqual([]);
    expect(errorChain("boom")).toEqual([]);
  });
});

describe("errorCodes / errorNames", () => {
  it("collects string codes and names along the chain", () => {
    const err = Object.assign(new Error("top"), {
      name: "RestError",
      code: "REQUEST_SEND_ERROR",
      cause: Object.assign(withCode("ECONNREFUSED"), { name: "SystemError" }),
    });
    expect([...errorCodes(err)]).toEqual(["REQUEST_SEND_ERROR", "ECONNREFUSED"]);
    expect([...errorNames(err)]).toEqual(["RestError", "SystemError"]);
  });

  it("skips non-string codes", () => {
    expect([...errorCodes(Object.assign(new Error("x"), { code: 42 }))]).toEqual([]);
  });
});

describe("isUnreachable", () => {
  it("recognises network codes nested in a cause, for either SDK", () => {
    const err = Object.assign(new Error("top"), { cause: withCode("ENOTFOUND") });
    expect(isUnreachable(err, STORAGE_UNREACHABLE_CODES)).toBe(true);
    expect(isUnreachable(err, EVENT_HUBS_UNREACHABLE_CODES)).toBe(true);
  });

  it("keeps each SDK's own codes to that SDK", () => {
    expect(isUnreachable(withCode("REQUEST_SEND_ERROR"), STORAGE_UNREACHABLE_CODES)).toBe(true);
    expect(isUnreachable(withCode("REQUEST_SEND_ERROR"), EVENT_HUBS_UNREACHABLE_CODES)).toBe(false);
    for (const code of ["ServiceCommunicationError", "ConnectionForcedError", "ServiceUnavailableError"]) {
      expect(isUnreachable(withCode(code), EVENT_HUBS_UNREACHABLE_CODES)).toBe(true);
      expect(isUnreachable(withCode(code), STORAGE_UNREACHABLE_CODES)).toBe(false);
    }
  });

  it("does not treat other codes as unreachable", () => {
    expect(isUnreachable(withCode("UnauthorizedError"), EVENT_HUBS_UNREACHABLE_CODES)).toBe(false);
    expect(isUnreachable(new Error("ECONNREFUSED in the message only"), STORAGE_UNREACHABLE_CODES)).toBe(
      false,
    );
  });
});

describe("isCredentialFailure", () => {
  it("recognises @azure/identity errors by name, also inside an aggregate", () => {
    const unavailable = Object.assign(new Error("no credential"), { name: "CredentialUnavailableError" });
    expect(isCredentialFailure(unavailable)).toBe(true);
    expect(isCredentialFailure(new AggregateError([unavailable], "all failed"))).toBe(true);
    expect(isCredentialFailure(Object.assign(new Error("x"), { name: "AuthenticationError" }))).toBe(true);
  });

  it("does not match other errors", () => {
    expect(isCredentialFailure(new Error("CredentialUnavailableError"))).toBe(false);
    expect(isCredentialFailure(withCode("UnauthorizedError"))).toBe(false);
  });
});
