import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { defaultDeadLetterContainer } from "../../../src/config/dead-letter.js";

describe("defaultDeadLetterContainer", () => {
  it("appends -deadletter", () => {
    expect(defaultDeadLetterContainer("checkpoints")).toBe("checkpoints-deadletter");
  });

  it("stays within 63 characters without a double hyphen", () => {
    const long = `${"a".repeat(51)}-${"b".repeat(11)}`;
    const name = defaultDeadLetterContainer(long);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toBe(`${"a".repeat(51)}-deadletter`);
    expect(name).not.toMatch(/--/);
  });

  it("rejects an empty name", () => {
    expect(() => defaultDeadLetterContainer("")).toThrow(ConfigError);
  });
});
