/**
 * The container test environment's choices and its fail-fast without a Docker engine (the
 * engine-backed path itself needs Docker and is not run here).
 */
import { describe, expect, it } from "vitest";
import { ProcessError } from "../../../src/common/errors.js";
import { assertDockerEngine, hubImageFrom } from "../../helpers/containers.js";

describe("TEST_HUB_IMAGE", () => {
  it("defaults to our image and accepts microsoft", () => {
    expect(hubImageFrom(undefined)).toBe("ours");
    expect(hubImageFrom("")).toBe("ours");
    expect(hubImageFrom("ours")).toBe("ours");
    expect(hubImageFrom("microsoft")).toBe("microsoft");
  });

  it("rejects anything else by name", () => {
    expect(() => hubImageFrom("azure")).toThrow(/TEST_HUB_IMAGE must be "ours" or "microsoft", not "azure"/);
  });
});

describe("assertDockerEngine", () => {
  it("passes when the engine answers", async () => {
    await expect(assertDockerEngine(async () => ({}), 1000)).resolves.toBeUndefined();
  });

  it("names the missing engine and keeps the runtime's reason as the cause", async () => {
    const reason = new Error("Could not find a working container runtime strategy");
    const err = await assertDockerEngine(() => Promise.reject(reason), 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessError);
    expect((err as Error).message).toBe(
      "TEST_ENV=containers needs a Docker engine; none was found: Could not find a working container runtime strategy",
    );
    expect((err as Error).cause).toBe(reason);
  });

  it("gives up on an engine that never answers instead of hanging", async () => {
    const startedAt = performance.now();
    const err = await assertDockerEngine(() => new Promise(() => {}), 200).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/needs a Docker engine; none was found: no answer within 200 ms/);
    expect(performance.now() - startedAt).toBeLessThan(5000);
  });
});
