import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { compileSendOptions, type RawSendOptions, SEND_DEFAULTS } from "../../../src/producer/options.js";

const KEY = "c2VjcmV0LWtleS12YWx1ZQ==";
const CS = `Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=root;SharedAccessKey=${KEY};UseDevelopmentEmulator=true`;

function compile(raw: Partial<RawSendOptions>) {
  return compileSendOptions({ connectionString: CS, hub: "eh1", ...raw });
}

/** The ConfigError `fn` throws; fails the test when it throws none or another kind. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const error = err as ConfigError;
    expect(error.message).not.toContain(KEY);
    return error;
  }
  throw new Error("expected a ConfigError, got none");
}

describe("compileSendOptions", () => {
  it("applies the defaults", () => {
    const options = compile({});
    expect(options).toEqual({
      connectionString: CS,
      hub: "eh1",
      endpointHost: "127.0.0.1:5672",
      count: SEND_DEFAULTS.count,
      ratePerSecond: undefined,
      bodySizeBytes: 100,
      routing: { kind: "any" },
      idStart: 0,
      type: SEND_DEFAULTS.type,
      concurrency: 4,
    });
  });

  it("parses every flag from its string form", () => {
    const options = compile({
      count: "50",
      rate: "12.5",
      bodySize: "0",
      keys: "8",
      idStart: "1000",
      type: "order.created",
      concurrency: "16",
    });
    expect(options).toMatchObject({
      count: 50,
      ratePerSecond: 12.5,
      bodySizeBytes: 0,
      routing: { kind: "keys", keyCount: 8 },
      idStart: 1000,
      type: "order.created",
      concurrency: 16,
    });
  });

  it("routes to one partition with --partition", () => {
    expect(compile({ partition: "3" }).routing).toEqual({ kind: "partition", partitionId: "3" });
  });

  it("takes the hub from EntityPath, and accepts --hub equal to it", () => {
    const withPath = `${CS};EntityPath=orders`;
    expect(compileSendOptions({ connectionString: withPath }).hub).toBe("orders");
    expect(compileSendOptions({ connectionString: withPath, hub: "orders" }).hub).toBe("orders");
  });

  it.each([
    ["count", "0", /^--count must be a whole number from 1 to/],
    ["count", "-5", /^--count must be a whole number/],
    ["count", "1.5", /^--count must be a whole number/],
    ["count", "ten", /^--count must be a whole number.*\(got "ten"\)/],
    ["rate", "0", /^--rate must be a number of events per second above 0/],
    ["rate", "-1", /^--rate must be a number of events per second above 0/],
    ["rate", "fast", /^--rate must be a number/],
    ["bodySize", "-1", /^--body-size must be a whole number from 0 to 1048576/],
    ["bodySize", "1048577", /^--body-size must be a whole number from 0 to 1048576/],
    ["keys", "0", /^--keys must be a whole number from 1 to 100000/],
    ["keys", "x", /^--keys must be a whole number/],
    ["idStart", "-1", /^--id-start must be a whole number from 0/],
    ["concurrency", "0", /^--concurrency must be a whole number from 1 to 256/],
    ["concurrency", "257", /^--concurrency must be a whole number from 1 to 256/],
    ["type", "  ", /^--type must be a non-empty string/],
    ["partition", "", /^--partition must be a non-empty string/],
  ] as const)("rejects %s=%j naming the flag", (name, value, pattern) => {
    const error = configError(() => compile({ [name]: value }));
    expect(error.message).toMatch(pattern);
  });

  it("rejects --keys together with --partition", () => {
    const error = configError(() => compile({ keys: "4", partition: "1" }));
    expect(error.message).toMatch(/--partition and --keys exclude each other/);
  });

  it("rejects ids that would pass the largest safe integer", () => {
    const error = configError(() => compile({ idStart: String(Number.MAX_SAFE_INTEGER), count: "2" }));
    expect(error.message).toMatch(/^--id-start plus --count must stay below/);
  });

  it("requires a connection string, naming the flag and the env var", () => {
    const error = configError(() => compileSendOptions({ hub: "eh1" }));
    expect(error.message).toMatch(/--connection-string or EHW_EVENTHUB_CONNECTION_STRING/);
  });

  it("rejects a connection string without an sb:// endpoint, naming where it came from", () => {
    const error = configError(() =>
      compileSendOptions({
        connectionString: `Endpoint=https://x;SharedAccessKeyName=a;SharedAccessKey=${KEY}`,
        hub: "eh1",
        labels: { connectionString: "EHW_EVENTHUB_CONNECTION_STRING" },
      }),
    );
    expect(error.message).toMatch(/^EHW_EVENTHUB_CONNECTION_STRING has no Endpoint=sb:\/\//);
  });

  it("rejects a connection string without key name or key", () => {
    const error = configError(() =>
      compileSendOptions({ connectionString: `Endpoint=sb://h/;SharedAccessKey=${KEY}`, hub: "eh1" }),
    );
    expect(error.message).toMatch(/^--connection-string needs SharedAccessKeyName and SharedAccessKey/);
  });

  it("requires a hub name when the connection string has no EntityPath", () => {
    const error = configError(() => compileSendOptions({ connectionString: CS }));
    expect(error.message).toMatch(/no event hub name: set --hub or EHW_EVENTHUB_NAME/);
  });

  it("rejects a hub that disagrees with EntityPath, naming the env var it came from", () => {
    const error = configError(() =>
      compileSendOptions({
        connectionString: `${CS};EntityPath=orders`,
        hub: "payments",
        labels: { hub: "EHW_EVENTHUB_NAME" },
      }),
    );
    expect(error.message).toMatch(/^EHW_EVENTHUB_NAME="payments" disagrees with EntityPath="orders"/);
  });
});
