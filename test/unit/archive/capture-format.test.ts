import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/common/errors.js";
import { namespaceOfHost, withArchiveDefaults } from "../../../src/config/archive.js";
import { compileHandlersConfig } from "../../../src/config/handlers.js";
import {
  DEFAULT_FILE_NAME_FORMAT,
  fileBlobName,
  validateFileNameFormat,
} from "../../../src/handlers/builtins/archive/naming.js";
import { compileArchiveOptions } from "../../../src/handlers/builtins/archive/options.js";
import { captureTime, captureValue, toCaptureRecord } from "../../../src/handlers/builtins/archive/schema.js";
import { decideWindow } from "../../../src/handlers/builtins/archive/window.js";
import { fakeEvent } from "../handlers/events.js";

describe("Capture record mapping", () => {
  it("maps property values onto the union's branches", () => {
    expect(captureValue(5)).toEqual({ long: 5 });
    expect(captureValue(2.5)).toEqual({ double: 2.5 });
    expect(captureValue("x")).toEqual({ string: "x" });
    expect(captureValue(true)).toEqual({ string: "true" });
    expect(captureValue(Buffer.from([1]))).toEqual({ bytes: Buffer.from([1]) });
    expect(captureValue(new Date(7))).toEqual({ long: 7 });
    expect(captureValue(2n ** 70n)).toEqual({ string: (2n ** 70n).toString() });
    expect(captureValue({ a: [1] })).toEqual({ string: '{"a":[1]}' });
    expect(captureValue(null)).toBeUndefined();
  });

  it("writes the enqueued time with seven fraction digits in UTC", () => {
    expect(captureTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 67)))).toBe("2026-01-02T03:04:05.0670000Z");
  });

  it("builds a record with the broker annotations and the JSON text of a decoded body", () => {
    const record = toCaptureRecord(fakeEvent(3, { partitionKey: "k", messageId: "m" }));
    expect(record.SequenceNumber).toBe(3);
    expect(record.Offset).toBe("300");
    expect(record.Body?.toString()).toBe('{"n":3}');
    expect(record.Properties).toEqual({ id: { string: "e-3" } });
    expect(record.SystemProperties).toMatchObject({
      "x-opt-sequence-number": { long: 3 },
      "x-opt-offset": { string: "300" },
      "x-opt-partition-key": { string: "k" },
      messageId: { string: "m" },
    });
  });
});

describe("archive file names", () => {
  const id = {
    namespace: "ns",
    eventHubName: "orders",
    partitionId: "7",
    firstEnqueuedTime: new Date(Date.UTC(2026, 1, 3, 4, 5, 6)),
    firstSequenceNumber: 42,
  };

  it("fills in Capture's fields and the first sequence number", () => {
    expect(fileBlobName(DEFAULT_FILE_NAME_FORMAT, id)).toBe("ns/orders/7/2026/02/03/04/05/06-42.avro");
    expect(fileBlobName("{EventHub}/p{PartitionId}/{FirstSequenceNumber}", id)).toBe("orders/p7/42.avro");
  });

  it("rejects formats without the partition or first sequence number, and unknown fields", () => {
    expect(() => validateFileNameFormat("{EventHub}/{PartitionId}", "f")).toThrow(/\{FirstSequenceNumber\}/);
    expect(() => validateFileNameFormat("{Partition}/{FirstSequenceNumber}", "f")).toThrow(/unknown field/);
    expect(() => validateFileNameFormat("/{PartitionId}/{FirstSequenceNumber}", "f")).toThrow(ConfigError);
  });

  it("takes {Namespace} from the first label of a namespace host, an IP address as it is", () => {
    expect(namespaceOfHost("myns.servicebus.windows.net")).toBe("myns");
    expect(namespaceOfHost("127.0.0.1:5672")).toBe("127.0.0.1");
    expect(namespaceOfHost("localhost")).toBe("localhost");
  });
});

describe("archive windows", () => {
  const limits = { windowMs: 300_000, windowBytes: 1000 };
  const file = { openedAtMs: 0, bytes: 500, events: 3, blocks: 2 };
  it("extends the open file until its time or size window is over", () => {
    expect(decideWindow(undefined, 10, 0, limits)).toBe("new-file");
    expect(decideWindow(file, 500, 299_999, limits)).toBe("extend");
    expect(decideWindow(file, 501, 1, limits)).toBe("size");
    expect(decideWindow(file, 1, 300_000, limits)).toBe("time");
    expect(decideWindow({ ...file, blocks: 10_000 }, 1, 1, limits)).toBe("blocks");
    expect(decideWindow({ ...file, events: 0 }, 5000, 1, limits)).toBe("extend");
  });
});

describe("archive options", () => {
  const base = {
    container: "capture",
    storageConnectionString: "UseDevelopmentStorage=true",
    namespace: "ns",
  };
  it("applies Capture's defaults", () => {
    expect(compileArchiveOptions(base, { name: "a" })).toMatchObject({
      windowMs: 300_000,
      windowBytes: 100 * 1024 * 1024,
      codec: "deflate",
      deflateLevel: 3,
      createContainer: true,
      fileNameFormat: DEFAULT_FILE_NAME_FORMAT,
    });
  });

  it("names the option that is wrong", () => {
    expect(() => compileArchiveOptions({ ...base, codec: "snappy" }, { name: "a" })).toThrow(
      /handlers\.a\.options\.codec: must be one of deflate, null/,
    );
    expect(() => compileArchiveOptions({ ...base, container: "Bad_Name" }, { name: "a" })).toThrow(
      /container/,
    );
    expect(() => compileArchiveOptions({ ...base, windowSeconds: 0 }, { name: "a" })).toThrow(
      /windowSeconds/,
    );
    expect(() => compileArchiveOptions({ ...base, deflateLevel: 10 }, { name: "a" })).toThrow(
      /handlers\.a\.options\.deflateLevel: must be a whole number from 1 to 9, got 10/,
    );
    expect(() => compileArchiveOptions({ ...base, windw: 1 }, { name: "a" })).toThrow(/unknown option/);
    const { namespace: _, ...noNamespace } = base;
    expect(() => compileArchiveOptions(noNamespace, { name: "a" })).toThrow(/namespace/);
  });

  it("defaults storage and namespace to the worker's", () => {
    const handlers = compileHandlersConfig(
      {
        handlers: { a: { builtin: "archive", options: { container: "capture" } } },
        pipelines: { default: ["a"] },
      },
      "/",
    );
    withArchiveDefaults(
      handlers,
      { connectionString: "UseDevelopmentStorage=true" },
      "myns.servicebus.windows.net",
    );
    expect(handlers.handlers[0]?.options).toEqual({
      container: "capture",
      storageConnectionString: "UseDevelopmentStorage=true",
      namespace: "myns",
    });
  });
});
