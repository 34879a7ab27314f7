import { RestError } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { isConditionConflict } from "../../../src/checkpoint/blob-records.js";
import { deserializeError, serializeError } from "../../../src/checkpoint/records-protocol.js";
import { errorCodes, isUnreachable, STORAGE_UNREACHABLE_CODES } from "../../../src/common/connectivity.js";

/** What the main thread gets back for an error the thread met: through a real structured clone. */
function overTheBoundary(err: unknown): Error {
  return deserializeError(structuredClone(serializeError(err)));
}

describe("storage errors across the thread boundary", () => {
  it("keep what marks a lost conditional create: 409 with BlobAlreadyExists", () => {
    const conflict = new RestError("The specified blob already exists.", {
      statusCode: 409,
      code: "BlobAlreadyExists",
    });
    (conflict as unknown as { details: unknown }).details = { errorCode: "BlobAlreadyExists" };
    const copy = overTheBoundary(conflict);
    expect(isConditionConflict(copy)).toBe(true);
    expect(copy).toMatchObject({ name: "RestError", statusCode: 409, code: "BlobAlreadyExists" });
  });

  it("keep a 412 as a conflict and any other status as not one", () => {
    expect(isConditionConflict(overTheBoundary(new RestError("x", { statusCode: 412 })))).toBe(true);
    expect(isConditionConflict(overTheBoundary(new RestError("x", { statusCode: 409 })))).toBe(false);
    expect(isConditionConflict(overTheBoundary(new RestError("x", { statusCode: 500 })))).toBe(false);
  });

  it("keep the codes along the cause chain, so an unreachable endpoint is still classified as one", () => {
    const network = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    const wrapped = new Error("request failed", { cause: network });
    const copy = overTheBoundary(wrapped);
    expect([...errorCodes(copy)]).toEqual(["ECONNREFUSED"]);
    expect(isUnreachable(copy, STORAGE_UNREACHABLE_CODES)).toBe(true);
    expect(copy.message).toBe("request failed");
    expect((copy.cause as Error).message).toBe("connect ECONNREFUSED 127.0.0.1:1");
  });

  it("turn a thrown non-object into an Error with its text", () => {
    const copy = overTheBoundary("boom");
    expect(copy).toBeInstanceOf(Error);
    expect(copy.message).toBe("boom");
  });

  it("stop following a cause chain that loops", () => {
    const a = new Error("a") as Error & { cause?: unknown };
    const b = new Error("b", { cause: a });
    a.cause = b;
    let depth = 0;
    for (let e: unknown = overTheBoundary(a); e !== undefined; e = (e as Error).cause) depth += 1;
    expect(depth).toBeGreaterThan(1);
    expect(depth).toBeLessThanOrEqual(9);
  });
});
