/**
 * The amqps listener's key and certificate: the files given with `--tls-cert/--tls-key`, or a
 * development CA and a server certificate signed by it, made at start. Clients trust the CA
 * (`NODE_EXTRA_CA_CERTS`, Python's `connection_verify`), never the server certificate itself, so
 * they verify the chain and the host name as they do against Event Hubs.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";
import { ConfigError } from "../../common/errors.js";

/** Key and certificate chain for the TLS listener. */
export interface TlsMaterial {
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM server certificate (with its chain, when a file gave one). */
  cert: string;
  /** File holding the development CA clients should trust; undefined when the files were given. */
  caFile: string | undefined;
  /** Removes what was written at start (the generated CA file); a no-op for given files. */
  dispose(): Promise<void>;
}

/** Validity of the generated certificates: they are made anew at every start. */
const VALID_DAYS = 30;

/** Reads the given key and certificate files, with errors that name the flag. */
export async function loadTlsFiles(certFile: string, keyFile: string): Promise<TlsMaterial> {
  const read = async (file: string, flag: string, marker: RegExp): Promise<string> => {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new ConfigError(`${flag}: cannot read ${file}`, { cause: err, context: { setting: flag } });
    }
    if (!marker.test(text)) {
      throw new ConfigError(
        `${flag}: ${file} holds no PEM ${flag === "--tls-cert" ? "certificate" : "private key"}`,
        {
          context: { setting: flag },
        },
      );
    }
    return text;
  };
  const [cert, key] = await Promise.all([
    read(certFile, "--tls-cert", /-----BEGIN CERTIFICATE-----/),
    read(keyFile, "--tls-key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  ]);
  return { cert, key, caFile: undefined, dispose: async () => {} };
}

/** The names a server certificate for `host` covers: the host, and loopback by name and address. */
export function serverAltNames(host: string): Array<{ type: 2; value: string } | { type: 7; ip: string }> {
  const names = new Map<string, { type: 2; value: string } | { type: 7; ip: string }>();
  for (const name of ["localhost", "127.0.0.1", "::1", host]) {
    if (name === "" || name === "0.0.0.0" || name === "::") continue; // wildcard binds name no host
    const bare = name.replace(/^\[|\]$/g, "");
    names.set(bare, isIP(bare) === 0 ? { type: 2, value: bare } : { type: 7, ip: bare });
  }
  return [...names.values()];
}

/**
 * Makes a development CA and a server certificate for `host` signed by it (EC P-256, SHA-256),
 * and writes the CA certificate to a new temporary directory that {@link TlsMaterial.dispose}
 * removes.
 */
export async function generateDevelopmentTls(host: string): Promise<TlsMaterial> {
  const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000); // an hour of clock skew
  const notAfterDate = new Date(notBeforeDate.getTime() + VALID_DAYS * 24 * 60 * 60 * 1000);
  const common = { keyType: "ec" as const, algorithm: "sha256" as const, notBeforeDate, notAfterDate };
  const ca = await generate([{ name: "commonName", value: "ehw hub development CA" }], {
    ...common,
    extensions: [
      { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate([{ name: "commonName", value: host }], {
    ...common,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: serverAltNames(host) },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), "ehw-hub-tls-"));
  const caFile = join(dir, "ca.pem");
  await writeFile(caFile, ca.cert, { mode: 0o644 });
  return {
    key: server.private,
    cert: server.cert,
    caFile,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
