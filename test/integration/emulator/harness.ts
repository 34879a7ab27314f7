/**
 * In-process emulator for the conformance tests: one per test file on free ports, a fresh hub per
 * test, short SDK retries so failures surface in seconds, and clients closed in teardown.
 */
import { randomBytes } from "node:crypto";
import type { RetryOptions } from "@azure/event-hubs";
import { type EmulatorServer, type RawEmulatorConfig, startEmulator } from "../../../src/emulator/index.js";
import { silentLogger } from "../../../src/observability/logger.js";

/** Retry options for every SDK client in these tests (the SDK's default delay is 30 s). */
export const FAST_RETRY: RetryOptions = { retryDelayInMs: 200, maxRetries: 3, timeoutInMs: 10_000 };

/** Starts an emulator on free ports with `overrides` on top. */
export function startTestEmulator(overrides: RawEmulatorConfig = {}): Promise<EmulatorServer> {
  return startEmulator({ amqpPort: 0, adminPort: 0, hubs: [], ...overrides }, silentLogger());
}

/** A hub name no other test uses. */
export function hubName(prefix = "hub"): string {
  return `${prefix}-${randomBytes(5).toString("hex")}`;
}

/** Creates a fresh hub and returns its name. */
export function freshHub(
  emulator: EmulatorServer,
  partitionCount = 2,
  consumerGroups: string[] = [],
): string {
  const name = hubName();
  emulator.createHub({ name, partitionCount, consumerGroups });
  return name;
}

/** Something with an async `close()`: SDK clients, subscriptions. */
export interface Closeable {
  close(): Promise<void>;
}

/** Collects closeables and closes them in reverse order (for `afterEach`). */
export class Closer {
  private readonly items: Closeable[] = [];

  /** Registers `item` and returns it. */
  add<T extends Closeable>(item: T): T {
    this.items.push(item);
    return item;
  }

  /** Closes everything registered, newest first; errors are collected and rethrown at the end. */
  async closeAll(): Promise<void> {
    const errors: unknown[] = [];
    while (this.items.length > 0) {
      const item = this.items.pop();
      try {
        await item?.close();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, "closing test clients failed");
  }
}
