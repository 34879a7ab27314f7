/**
 * In-process emulator for the conformance tests: one per test file on free ports, a fresh hub per
 * test, short SDK retries so failures surface in seconds, and clients closed in teardown.
 */
import { randomBytes } from "node:crypto";
import { EventHubConsumerClient, EventHubProducerClient, type RetryOptions } from "@azure/event-hubs";
import { afterAll, afterEach, beforeAll } from "vitest";
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

/** One emulator per test file with its clients: see {@link useTestEmulator}. */
export interface TestEmulator {
  /** The running emulator; set by the file's `beforeAll`. */
  readonly emulator: EmulatorServer;
  /** Clients and subscriptions registered here are closed after each test. */
  readonly closer: Closer;
  /** A fresh hub with `partitionCount` partitions; returns its name. */
  hub(partitionCount?: number, consumerGroups?: string[]): string;
  /** A producer on `hub` with {@link FAST_RETRY}, closed after the test. */
  producer(hub: string): EventHubProducerClient;
  /** A consumer of `consumerGroup` (default `$Default`) on `hub` with {@link FAST_RETRY}, closed after the test. */
  consumer(hub: string, consumerGroup?: string): EventHubConsumerClient;
  /** The admin endpoint's base URL, e.g. `http://127.0.0.1:5300`. */
  readonly adminUrl: string;
  /** Calls the admin endpoint with a JSON body (if given); resolves with the status and the JSON answer. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
}

/**
 * Registers the hooks of a conformance test file: starts an emulator before all tests, closes the
 * test's clients after each and the emulator after all.
 */
export function useTestEmulator(overrides: RawEmulatorConfig = {}): TestEmulator {
  let emulator: EmulatorServer | undefined;
  const closer = new Closer();
  beforeAll(async () => {
    emulator = await startTestEmulator(overrides);
  });
  afterEach(() => closer.closeAll());
  afterAll(() => emulator?.close());
  const running = (): EmulatorServer => {
    if (emulator === undefined) throw new Error("the test emulator is not started (used outside a test?)");
    return emulator;
  };
  const adminUrl = (): string => `http://127.0.0.1:${running().adminPort}`;
  return {
    get emulator() {
      return running();
    },
    get adminUrl() {
      return adminUrl();
    },
    admin: async (method, path, body) => {
      const res = await fetch(`${adminUrl()}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: await res.json() };
    },
    closer,
    hub: (partitionCount, consumerGroups) => freshHub(running(), partitionCount, consumerGroups),
    producer: (hub) =>
      closer.add(new EventHubProducerClient(running().connectionString(), hub, { retryOptions: FAST_RETRY })),
    consumer: (hub, consumerGroup = "$Default") =>
      closer.add(
        new EventHubConsumerClient(consumerGroup, running().connectionString(), hub, {
          retryOptions: FAST_RETRY,
        }),
      ),
  };
}
