import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { describeConfig, WORKER_DEFAULTS } from "../../../src/config/worker.js";
import { baseEnv, compile, EH_KEY, messageOf, STORAGE_KEY } from "./helpers.js";

describe("compileWorkerConfig defaults", () => {
  const config = compile();

  it("applies every documented default", () => {
    expect(config.eventHubs.consumerGroup).toBe("$Default");
    expect(config.storage.createContainer).toBe(true);
    expect(config.processing).toMatchObject({
      checkpointEvery: 100,
      checkpointIntervalMs: 5000,
      checkpointOnCatchUp: true,
      concurrency: 16,
      ordering: "partition",
      maxBatchSize: 100,
      maxWaitTimeMs: 1000,
      prefetchCount: 300,
      startPosition: { kind: "earliest" },
      startPositions: {},
      maxAttempts: 5,
      retryBaseDelayMs: 200,
      retryMaxDelayMs: 30_000,
      handlerTimeoutMs: 60_000,
      ownershipCheckIntervalMs: 1000,
    });
    expect(config.shutdown.drainTimeoutMs).toBe(30_000);
    expect(config.loadBalancing).toEqual({
      strategy: "greedy",
      updateIntervalMs: 5000,
      ownershipExpirationMs: 15_000,
      ownerId: "owner-uuid",
    });
    expect(config.sdkRetry).toEqual({
      retryDelayMs: 500,
      maxRetryDelayMs: 5000,
      maxRetries: 10,
      tryTimeoutMs: 60_000,
    });
    expect(config.logLevel).toBe("info");
    expect(config.handlers.pipelines).toEqual([{ name: "default", handlers: expect.any(Array) }]);
    expect(config.handlers.handlers[0]?.source).toEqual({ kind: "builtin", builtin: "log" });
  });

  it("keeps the defaults table and the compiled values in step", () => {
    expect(config.processing.checkpointEvery).toBe(WORKER_DEFAULTS.checkpointEvery);
    expect(config.loadBalancing.updateIntervalMs).toBe(WORKER_DEFAULTS.updateIntervalMs);
  });

  it("generates a fresh owner id per compile unless one is set", () => {
    expect(compile([], { ...baseEnv(), EHW_OWNER_ID: "worker-7" }).loadBalancing.ownerId).toBe("worker-7");
  });

  it("is frozen", () => {
    expect(Object.isFrozen(config.processing)).toBe(true);
    expect(() => {
      (config.processing as { concurrency: number }).concurrency = 1;
    }).toThrow(TypeError);
  });
});

describe("compileWorkerConfig parses values", () => {
  it("takes integers, booleans, choices and start positions from flags", () => {
    const c = compile([
      "--checkpoint-every=7",
      "--create-container=false",
      "--checkpoint-on-catch-up=false",
      "--ordering=key",
      "--strategy=greedy",
      "--start-position=2024-05-01T12:00:00Z",
      "--start-position=3=latest",
      "--log-level=debug",
    ]);
    expect(c.processing.checkpointEvery).toBe(7);
    expect(c.storage.createContainer).toBe(false);
    expect(c.processing.checkpointOnCatchUp).toBe(false);
    expect(c.processing.ordering).toBe("key");
    expect(c.loadBalancing.strategy).toBe("greedy");
    expect(c.processing.startPosition).toEqual({
      kind: "enqueuedTime",
      enqueuedOnMs: Date.UTC(2024, 4, 1, 12),
    });
    expect(c.processing.startPositions).toEqual({ "3": { kind: "latest" } });
    expect(c.logLevel).toBe("debug");
  });

  it("takes the hub name from EntityPath when no name is set", () => {
    const env = baseEnv();
    delete env.EHW_EVENTHUB_NAME;
    env.EHW_EVENTHUB_CONNECTION_STRING += ";EntityPath=payments";
    expect(compile([], env).eventHubs.eventHubName).toBe("payments");
  });

  it("accepts namespace and account URL for DefaultAzureCredential", () => {
    const env = baseEnv();
    delete env.EHW_EVENTHUB_CONNECTION_STRING;
    delete env.EHW_STORAGE_CONNECTION_STRING;
    env.EHW_EVENTHUB_NAMESPACE = "myns.servicebus.windows.net";
    env.EHW_STORAGE_ACCOUNT_URL = "https://acct.blob.core.windows.net";
    const c = compile([], env);
    expect(c.eventHubs).toMatchObject({
      connectionString: undefined,
      fullyQualifiedNamespace: "myns.servicebus.windows.net",
    });
    expect(c.storage).toMatchObject({
      connectionString: undefined,
      accountUrl: "https://acct.blob.core.windows.net",
    });
  });

  it("accepts the emulator and Azurite development strings", () => {
    const c = compile([], {
      EHW_EVENTHUB_CONNECTION_STRING:
        "Endpoint=sb://127.0.0.1:5673;SharedAccessKeyName=dev;SharedAccessKey=k;EntityPath=hub;UseDevelopmentEmulator=true",
      EHW_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
      EHW_CONTAINER_NAME: "ckpt-1",
    });
    expect(c.eventHubs.endpointHost).toBe("127.0.0.1:5673");
  });

  it("turns --handler into one handler in pipeline default, with the ledger file resolved", () => {
    const ledger = compile(["--handler", "ledger", "--ledger-file", "out/ledger.jsonl"]);
    expect(ledger.handlers.handlers).toEqual([
      {
        name: "main",
        source: { kind: "builtin", builtin: "ledger" },
        options: { file: "/srv/app/out/ledger.jsonl" },
      },
    ]);
    expect(ledger.handlers.pipelines).toEqual([{ name: "default", handlers: ["main"] }]);
    const mod = compile([], { ...baseEnv(), EHW_HANDLER: "/opt/handlers/orders.js" });
    expect(mod.handlers.handlers[0]?.source).toMatchObject({
      kind: "module",
      specifier: "/opt/handlers/orders.js",
    });
  });
});

/** One test per rule: the message names the setting as written and says what is allowed. */
describe("compileWorkerConfig rejections", () => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    [
      "non-numeric",
      [],
      { EHW_CHECKPOINT_EVERY: "abc" },
      /^EHW_CHECKPOINT_EVERY="abc" is not a positive integer \(checkpointEvery: .*≥ 1\)/,
    ],
    ["trailing garbage", ["--concurrency", "12abc"], {}, /--concurrency="12abc" is not a positive integer/],
    ["zero where ≥ 1", ["--checkpoint-every", "0"], {}, /--checkpoint-every="0" is not a positive integer/],
    ["negative", ["--max-retries=-1"], {}, /--max-retries="-1" is not a non-negative integer/],
    ["fraction", ["--max-attempts", "2.5"], {}, /--max-attempts="2.5" is not a positive integer/],
    [
      "below minimum",
      ["--checkpoint-interval-ms", "50"],
      {},
      /--checkpoint-interval-ms="50" is not an integer ≥ 100/,
    ],
    ["bad boolean", [], { EHW_CREATE_CONTAINER: "yes" }, /EHW_CREATE_CONTAINER="yes" is not true or false/],
    [
      "bad catch-up boolean",
      ["--checkpoint-on-catch-up", "on"],
      {},
      /--checkpoint-on-catch-up="on" is not true or false/,
    ],
    ["bad ordering", ["--ordering", "strict"], {}, /--ordering="strict" is not one of partition, key, none/],
    ["bad strategy", [], { EHW_STRATEGY: "eager" }, /EHW_STRATEGY="eager" is not one of balanced, greedy/],
    ["bad log level", ["--log-level", "verbose"], {}, /--log-level="verbose" is not one of fatal, error/],
    [
      "ledger shortcut without its file",
      ["--handler", "ledger"],
      {},
      /^--handler="ledger" needs the file to append to: set --ledger-file \(EHW_LEDGER_FILE/,
    ],
    [
      "bad start position",
      ["--start-position", "yesterday"],
      {},
      /--start-position="yesterday" is not earliest, latest or an ISO-8601/,
    ],
    [
      "time without zone",
      ["--start-position", "2024-05-01T12:00:00"],
      {},
      /--start-position="2024-05-01T12:00:00" is not/,
    ],
    [
      "bad partition override",
      ["--start-position", "0=soon"],
      {},
      /--start-position: start position "soon" for partition 0/,
    ],
    ["bad partition id", ["--start-position", "x=latest"], {}, /--start-position: "x" is not a partition id/],
    ["empty consumer group", ["--consumer-group", " "], {}, /--consumer-group=" " is empty/],
    [
      "container too short",
      [],
      { EHW_CONTAINER_NAME: "ab" },
      /EHW_CONTAINER_NAME="ab" must be 3 to 63 characters/,
    ],
    [
      "container upper case",
      [],
      { EHW_CONTAINER_NAME: "Checkpoints" },
      /EHW_CONTAINER_NAME="Checkpoints" may contain only lower-case/,
    ],
    [
      "container edge hyphen",
      [],
      { EHW_CONTAINER_NAME: "-ckpt" },
      /must start and end with a letter or digit/,
    ],
    [
      "container double hyphen",
      [],
      { EHW_CONTAINER_NAME: "ck--pt" },
      /must not contain two hyphens in a row/,
    ],
    [
      "namespace with scheme",
      [],
      { EHW_EVENTHUB_CONNECTION_STRING: "", EHW_EVENTHUB_NAMESPACE: "sb://ns.servicebus.windows.net" },
      /EHW_EVENTHUB_NAMESPACE="sb:\/\/ns.servicebus.windows.net" must be a host name without a scheme/,
    ],
    [
      "account URL not a URL",
      [],
      { EHW_STORAGE_CONNECTION_STRING: "", EHW_STORAGE_ACCOUNT_URL: "acct.blob.core.windows.net" },
      /EHW_STORAGE_ACCOUNT_URL="acct.blob.core.windows.net" is not an http\(s\) URL/,
    ],
    [
      "prefetch below batch",
      ["--prefetch-count", "50"],
      {},
      /--prefetch-count="50" is too small for maxBatchSize \(default\)=100 \(requires prefetchCount ≥ maxBatchSize\)/,
    ],
    [
      "retry max below base",
      ["--retry-max-delay-ms", "100"],
      {},
      /--retry-max-delay-ms="100" is too small for retryBaseDelayMs/,
    ],
    [
      "SDK max delay below delay",
      ["--max-retry-delay-ms", "100"],
      {},
      /--max-retry-delay-ms="100" is too small for retryDelayMs/,
    ],
    [
      "ledger file without handler",
      ["--ledger-file", "l.jsonl"],
      {},
      /--ledger-file="l.jsonl" needs the handler shortcut/,
    ],
    [
      "ledger file with another handler",
      ["--handler", "log", "--ledger-file", "l.jsonl"],
      {},
      /--ledger-file="l.jsonl" applies only with --handler="log"/,
    ],
  ];
  for (const [name, argv, envPatch, pattern] of cases) {
    it(`rejects ${name}`, () => {
      const env: Record<string, string> = { ...baseEnv(), ...envPatch };
      for (const [k, v] of Object.entries(env)) if (v === "") delete env[k];
      const message = messageOf(() => compile(argv, env));
      expect(message).toMatch(pattern);
    });
  }

  it("throws ConfigError carrying the setting in its context", () => {
    try {
      compile(["--concurrency", "x"]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).context.setting).toBe("--concurrency");
    }
  });

  it("checks ownership expiry ≥ 3 × update interval, naming both settings", () => {
    const message = messageOf(() =>
      compile(["--update-interval-ms", "5000"], { ...baseEnv(), EHW_OWNERSHIP_EXPIRATION_MS: "14999" }),
    );
    expect(message).toBe(
      'EHW_OWNERSHIP_EXPIRATION_MS="14999" is too small for --update-interval-ms="5000" (requires ownershipExpirationMs ≥ 3 × updateIntervalMs = 15000)',
    );
    expect(
      compile(["--update-interval-ms", "5000", "--ownership-expiration-ms", "15000"]).loadBalancing
        .ownershipExpirationMs,
    ).toBe(15000);
  });

  it("requires exactly one of connection string and namespace", () => {
    const both = messageOf(() =>
      compile([], { ...baseEnv(), EHW_EVENTHUB_NAMESPACE: "ns.servicebus.windows.net" }),
    );
    expect(both).toMatch(
      /EHW_EVENTHUB_CONNECTION_STRING \(value hidden\) conflicts with EHW_EVENTHUB_NAMESPACE/,
    );
    const env = baseEnv();
    delete env.EHW_EVENTHUB_CONNECTION_STRING;
    expect(messageOf(() => compile([], env))).toMatch(
      /no Event Hubs connection: set EHW_EVENTHUB_CONNECTION_STRING .* or EHW_EVENTHUB_NAMESPACE/,
    );
  });

  it("requires exactly one of storage connection string and account URL", () => {
    const both = messageOf(() =>
      compile([], { ...baseEnv(), EHW_STORAGE_ACCOUNT_URL: "https://a.blob.core.windows.net" }),
    );
    expect(both).toMatch(
      /EHW_STORAGE_CONNECTION_STRING \(value hidden\) conflicts with EHW_STORAGE_ACCOUNT_URL/,
    );
    const env = baseEnv();
    delete env.EHW_STORAGE_CONNECTION_STRING;
    expect(messageOf(() => compile([], env))).toMatch(
      /no checkpoint storage: set EHW_STORAGE_CONNECTION_STRING/,
    );
  });

  it("requires a hub name, and that it agrees with EntityPath", () => {
    const env = baseEnv();
    delete env.EHW_EVENTHUB_NAME;
    expect(messageOf(() => compile([], env))).toMatch(/no event hub name: set EHW_EVENTHUB_NAME/);
    env.EHW_EVENTHUB_CONNECTION_STRING += ";EntityPath=payments";
    expect(messageOf(() => compile(["--eventhub-name", "orders"], env))).toMatch(
      /--eventhub-name="orders" disagrees with EntityPath="payments" in EHW_EVENTHUB_CONNECTION_STRING/,
    );
  });

  it("requires a container name", () => {
    const env = baseEnv();
    delete env.EHW_CONTAINER_NAME;
    expect(messageOf(() => compile([], env))).toMatch(/no checkpoint container: set EHW_CONTAINER_NAME/);
  });

  it("names what an Event Hubs connection string lacks without echoing the key", () => {
    const cases: Array<[string, RegExp]> = [
      [`SharedAccessKeyName=a;SharedAccessKey=${EH_KEY}`, /has no Endpoint/],
      [
        `Endpoint=https://ns/;SharedAccessKeyName=a;SharedAccessKey=${EH_KEY}`,
        /Endpoint that is not an sb:\/\/<host>\/ URL/,
      ],
      [`Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKey=${EH_KEY}`, /has no SharedAccessKeyName/],
      ["Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=a", /has no SharedAccessKey/],
    ];
    for (const [value, pattern] of cases) {
      const message = messageOf(() => compile([], { ...baseEnv(), EHW_EVENTHUB_CONNECTION_STRING: value }));
      expect(message).toMatch(/^EHW_EVENTHUB_CONNECTION_STRING \(value hidden\)/);
      expect(message).toMatch(pattern);
      expect(message).not.toContain(EH_KEY);
    }
  });

  it("names what a storage connection string lacks without echoing the key", () => {
    const cases: Array<[string, RegExp]> = [
      [
        `DefaultEndpointsProtocol=https;AccountKey=${STORAGE_KEY}`,
        /has neither AccountName nor BlobEndpoint/,
      ],
      ["AccountName=acct", /has neither AccountKey nor SharedAccessSignature/],
      [`BlobEndpoint=ftp://x;AccountKey=${STORAGE_KEY}`, /BlobEndpoint that is not an http\(s\) URL/],
    ];
    for (const [value, pattern] of cases) {
      const message = messageOf(() => compile([], { ...baseEnv(), EHW_STORAGE_CONNECTION_STRING: value }));
      expect(message).toMatch(/^EHW_STORAGE_CONNECTION_STRING \(value hidden\)/);
      expect(message).toMatch(pattern);
      expect(message).not.toContain(STORAGE_KEY);
    }
  });

  it("wraps a handler shortcut the handler section refuses, naming the flag", () => {
    const message = messageOf(() => compile(["--handler", " "]));
    expect(message).toMatch(/--handler=" " is empty/);
  });
});

describe("describeConfig", () => {
  it("holds no key, connection string or signature", () => {
    const env = baseEnv();
    env.EHW_STORAGE_CONNECTION_STRING =
      "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2024&sig=SIGSECRET";
    const text = JSON.stringify(describeConfig(compile([], env)));
    for (const secret of [EH_KEY, "SIGSECRET", "SharedAccessKey", "AccountKey", "sig="]) {
      expect(text).not.toContain(secret);
    }
    expect(describeConfig(compile([], env))).toMatchObject({
      eventHubs: {
        auth: "connectionString",
        endpointHost: "ns.servicebus.windows.net",
        eventHubName: "orders",
      },
      storage: {
        auth: "connectionString",
        blobEndpoint: "https://acct.blob.core.windows.net",
        containerName: "checkpoints",
      },
      processing: { startPosition: "earliest", checkpointEvery: 100 },
    });
  });
});
