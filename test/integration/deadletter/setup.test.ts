/** The worker's failure handling set-up against the shared Azurite. */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { compileHandlersConfig } from "../../../src/config/handlers.js";
import { DeadLetterStore } from "../../../src/deadletter/store.js";
import { prepareFailureHandling } from "../../../src/deadletter/worker-setup.js";
import { silentLogger } from "../../../src/observability/logger.js";
import { testStack, uniqueName } from "../../helpers/stack.js";
import { containerOf } from "./support.js";

function storage(createContainer: boolean) {
  return {
    connectionString: testStack().azurite.connectionString,
    accountUrl: undefined,
    containerName: "unused",
    createContainer,
  };
}

const common = { eventHubName: "hub", consumerGroup: "$Default", logger: silentLogger() };

describe("prepareFailureHandling", () => {
  it("creates the dead-letter container when a pipeline dead-letters and creation is allowed", async () => {
    const name = uniqueName("dl");
    const handling = await prepareFailureHandling({
      ...common,
      handlers: compileHandlersConfig(undefined, process.cwd()),
      storage: storage(true),
      deadLetterContainer: name,
    });
    expect(handling.store?.containerName).toBe(name);
    expect(await containerOf(name).exists()).toBe(true);
  });

  it("fails with a ConfigError naming the container when it is missing and may not be created", async () => {
    const name = uniqueName("dl");
    const error = await prepareFailureHandling({
      ...common,
      handlers: compileHandlersConfig(undefined, process.cwd()),
      storage: storage(false),
      deadLetterContainer: name,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`dead-letter container "${name}" does not exist`);
  });

  it("needs no container when no pipeline dead-letters", async () => {
    const name = uniqueName("dl");
    const handling = await prepareFailureHandling({
      ...common,
      handlers: compileHandlersConfig(
        { handlers: { a: { builtin: "log" } }, pipelines: { p: { handlers: ["a"], onFailure: "stop" } } },
        process.cwd(),
      ),
      storage: storage(true),
      deadLetterContainer: name,
    });
    expect(handling.store).toBeUndefined();
    expect(await containerOf(name).exists()).toBe(false);
  });

  it("listing a container that does not exist is a ConfigError naming it, not an empty list", async () => {
    const name = uniqueName("dl");
    const store = new DeadLetterStore(containerOf(name), { eventHubName: "hub", consumerGroup: "$Default" });
    const error = await store.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`dead-letter container "${name}" does not exist`);
  });
});
