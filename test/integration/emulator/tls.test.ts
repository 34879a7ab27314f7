/**
 * The amqps listener (`--tls-port`, issue 18): SDKs that always speak TLS, as against Event Hubs,
 * connect with the CA the emulator prints trusted, and send and receive. The JS SDK runs in a
 * child process because Node reads `NODE_EXTRA_CA_CERTS` only at start.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorServer } from "../../../src/emulator/index.js";
import { runToExit } from "../../helpers/run-to-exit.js";
import { freshHub, startTestEmulator } from "./harness.js";

const ROUNDTRIP = fileURLToPath(new URL("../../fixtures/emulator/tls-roundtrip.mjs", import.meta.url));
const FIXTURE_CERT = fileURLToPath(new URL("../../fixtures/tls/cert.pem", import.meta.url));
const FIXTURE_KEY = fileURLToPath(new URL("../../fixtures/tls/key.pem", import.meta.url));

/**
 * Runs the JS SDK round trip over TLS in a child process, trusting `caFile` (or nothing beyond
 * Node's own CAs). Asynchronous: the emulator serves it from this process.
 */
async function roundTrip(connectionString: string, hub: string, count: number, caFile: string | undefined) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  if (caFile !== undefined) env.NODE_EXTRA_CA_CERTS = caFile;
  // rhea passes the IP host as TLS server name, which Node warns about (DEP0123).
  const { status, stdout, stderr } = await runToExit(
    process.execPath,
    ["--no-deprecation", ROUNDTRIP, connectionString, hub, String(count)],
    env,
  );
  const received = status === 0 ? (JSON.parse(stdout) as { received: string[] }).received : undefined;
  return { status, stderr, received };
}

describe.each([
  { certificate: "a development CA made at start", files: false },
  { certificate: "the given --tls-cert/--tls-key", files: true },
])("emulator amqps listener with $certificate", ({ files }) => {
  let emulator: EmulatorServer;

  beforeAll(async () => {
    emulator = await startTestEmulator({
      tlsPort: 0,
      ...(files ? { tlsCertFile: FIXTURE_CERT, tlsKeyFile: FIXTURE_KEY } : {}),
    });
  });
  afterAll(() => emulator?.close());

  it("serves the JS SDK over TLS when the CA is trusted", async () => {
    const hub = freshHub(emulator, 1);
    const connectionString = emulator.tlsConnectionString() as string;
    expect(connectionString).not.toContain("UseDevelopmentEmulator");
    const caFile = files ? FIXTURE_CERT : emulator.caFile;
    expect(caFile, "the CA file to trust").toBeDefined();
    const run = await roundTrip(connectionString, hub, 5, caFile);
    expect(run.stderr).toBe("");
    expect(run.received).toEqual(["tls-0", "tls-1", "tls-2", "tls-3", "tls-4"]);
  });

  it("is refused by a client that does not trust the CA", async () => {
    const hub = freshHub(emulator, 1);
    const run = await roundTrip(emulator.tlsConnectionString() as string, hub, 1, undefined);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/certificate/i);
  });
});
