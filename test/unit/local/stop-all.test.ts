import { describe, expect, it } from "vitest";
import { ProcessError } from "../../../src/common/errors.js";
import { stopAll } from "../../../src/local/index.js";

describe("stopAll", () => {
  it("stops every part even when one fails, then names the failure", async () => {
    const stopped: string[] = [];
    const boom = new Error("boom");
    const err = await stopAll([
      {
        name: "emulator",
        stop: async () => {
          throw boom;
        },
      },
      { name: "azurite", stop: async () => void stopped.push("azurite") },
    ]).catch((e: unknown) => e);
    expect(stopped).toEqual(["azurite"]);
    expect(err).toBeInstanceOf(ProcessError);
    expect((err as Error).message).toBe("failed to stop: emulator");
    expect((err as Error).cause).toBe(boom);
  });

  it("collects several failures and resolves when all stop", async () => {
    const fail = async () => {
      throw new Error("x");
    };
    const err = await stopAll([
      { name: "a", stop: fail },
      { name: "b", stop: fail },
    ]).catch((e: unknown) => e);
    expect((err as Error).message).toBe("failed to stop: a, b");
    expect((err as Error).cause).toBeInstanceOf(AggregateError);
    await expect(stopAll([{ name: "ok", stop: async () => {} }])).resolves.toBeUndefined();
  });
});
