import { expect } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { readRawWorkerOptions } from "../../../src/config/source.js";
import { compileWorkerConfig, type WorkerConfig } from "../../../src/config/worker.js";

export const EH_KEY = "c2VjcmV0LWV2ZW50aHViLWtleQ==";
export const STORAGE_KEY = "c2VjcmV0LXN0b3JhZ2Uta2V5";

/** The smallest valid environment: connection strings and a container. */
export function baseEnv(): Record<string, string> {
  return {
    EHW_EVENTHUB_CONNECTION_STRING: `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=${EH_KEY}`,
    EHW_EVENTHUB_NAME: "orders",
    EHW_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${STORAGE_KEY};EndpointSuffix=core.windows.net`,
    EHW_CONTAINER_NAME: "checkpoints",
  };
}

/** Reads flags and env as `ehw run` does and compiles them. */
export function compile(
  argv: string[] = [],
  env: Record<string, string | undefined> = baseEnv(),
  cwd = "/srv/app",
): WorkerConfig {
  const { raw, baseDir } = readRawWorkerOptions(argv, env, cwd);
  return compileWorkerConfig(raw, { baseDir, randomUUID: () => "owner-uuid" });
}

/** The ConfigError `fn` throws; fails the test when it throws something else or nothing. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

/** The ConfigError message `fn` throws; fails the test when it does not throw. */
export function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError, but nothing was thrown");
}
