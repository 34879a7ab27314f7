import { describe, expect, it } from "vitest";
import { emulatorConnectionString } from "../../../src/emulator/index.js";

const BASE = { host: "127.0.0.1", keyName: "RootManageSharedAccessKey", key: "k3y" };

describe("emulatorConnectionString", () => {
  it("names no port on 5672, so every SDK derives the namespace 127.0.0.1", () => {
    expect(emulatorConnectionString({ ...BASE, port: 5672 })).toBe(
      "Endpoint=sb://127.0.0.1;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=k3y;UseDevelopmentEmulator=true",
    );
  });

  it("names any other port, and the hub when given", () => {
    expect(emulatorConnectionString({ ...BASE, port: 5673, hub: "orders" })).toBe(
      "Endpoint=sb://127.0.0.1:5673;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=k3y;UseDevelopmentEmulator=true;EntityPath=orders",
    );
  });

  it("for the TLS listener, asks for no plain AMQP and names no port on 5671", () => {
    expect(emulatorConnectionString({ ...BASE, port: 5671, tls: true })).toBe(
      "Endpoint=sb://127.0.0.1;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=k3y",
    );
    expect(emulatorConnectionString({ ...BASE, port: 5672, tls: true, hub: "orders" })).toBe(
      "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=k3y;EntityPath=orders",
    );
  });
});
