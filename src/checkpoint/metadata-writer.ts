/**
 * The checkpoint write, Set Blob Metadata under an ETag, as one plain HTTP request signed here.
 * Through the storage SDK each such write cost the worker most of a millisecond of CPU (request
 * pipeline, policies, tracing, response deserialisation, their garbage): at the default of a
 * checkpoint every 100 events, about a sixth of what the worker spent per event. This request is
 * the same one the SDK sends (same URL, headers and Shared Key or SAS authorisation), made over a
 * kept connection (plain-http.ts) and read back for its status and ETag only.
 *
 * Only what it can do exactly like the SDK is done here: a connection string with an account key
 * (Shared Key) or a SAS, and no proxy configured. Anything else (Microsoft Entra ID, a proxy) is
 * left to the SDK by {@link metadataAuthFor} returning undefined.
 */
import { createHmac } from "node:crypto";
import { getDefaultProxySettings, RestError } from "@azure/core-rest-pipeline";
import { parseConnectionStringParts } from "../config/connection.js";
import { type Origin, originOf, PlainHttpClient, type PlainResponse } from "./plain-http.js";

/** How the request is authorised. */
export type MetadataAuth =
  | { readonly kind: "sharedKey"; readonly accountName: string; readonly accountKey: Buffer }
  | { readonly kind: "sas"; readonly query: string };

/** Sets a blob's metadata under an ETag; see the module comment. */
export interface MetadataWriter {
  /**
   * Replaces the metadata of the blob at `blobUrl` (as the SDK's blob client names it) if its ETag
   * is still `ifMatch`. Resolves the new ETag, or undefined when the condition failed (HTTP 412).
   * Rejects with a RestError (status, `code` and `details.errorCode` from the service) for any
   * other answer, or with the network error.
   */
  setMetadata(
    blobUrl: string,
    metadata: Readonly<Record<string, string>>,
    ifMatch: string,
  ): Promise<string | undefined>;
  /** Closes idle connections. */
  close(): void;
}

/** Storage REST version of the request; every Blob service and Azurite version since 2022 accepts it. */
export const METADATA_API_VERSION = "2021-12-02";

/** Longest a write may take before it fails as a timeout, ms. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The authorisation a storage connection string gives, or undefined when the write should go through
 * the SDK: no connection string (Entra ID), no account key or SAS in it, or a proxy configured in
 * the environment (which the SDK honours).
 */
export function metadataAuthFor(connectionString: string | undefined): MetadataAuth | undefined {
  if (connectionString === undefined || getDefaultProxySettings() !== undefined) return undefined;
  const parts = parseConnectionStringParts(connectionString);
  const accountName = parts.get("accountname");
  const accountKey = parts.get("accountkey");
  if (accountName !== undefined && accountKey !== undefined) {
    return { kind: "sharedKey", accountName, accountKey: Buffer.from(accountKey, "base64") };
  }
  const sas = parts.get("sharedaccesssignature");
  if (sas !== undefined) return { kind: "sas", query: sas.replace(/^\?/, "") };
  return undefined;
}

/**
 * The Shared Key string to sign of a Set Blob Metadata request (Blob service, version 2015-02-21
 * and later): the verb, eleven standard headers of which only If-Match is set (an empty body's
 * Content-Length is signed as empty), the `x-ms-` headers sorted, then the account and the path with
 * the `comp` query parameter.
 */
export function metadataStringToSign(
  accountName: string,
  path: string,
  ifMatch: string,
  msHeaders: Readonly<Record<string, string>>,
): string {
  const standard = ["PUT", "", "", "", "", "", "", "", ifMatch, "", "", ""];
  const canonicalHeaders = Object.keys(msHeaders)
    .sort()
    .map((name) => `${name}:${msHeaders[name]}\n`)
    .join("");
  return `${standard.join("\n")}\n${canonicalHeaders}/${accountName}${path}\ncomp:metadata`;
}

interface Target {
  readonly origin: Origin;
  readonly path: string;
}

/** The writer for a storage connection string, or undefined when the SDK should write (see {@link metadataAuthFor}). */
export function metadataWriterFor(connectionString: string | undefined): MetadataWriter | undefined {
  const auth = metadataAuthFor(connectionString);
  return auth === undefined ? undefined : createMetadataWriter(auth);
}

/** A {@link MetadataWriter} over keep-alive connections. */
export function createMetadataWriter(auth: MetadataAuth): MetadataWriter {
  const client = new PlainHttpClient({ timeoutMs: REQUEST_TIMEOUT_MS });
  const targets = new Map<string, Target>();
  const targetOf = (blobUrl: string): Target => {
    let target = targets.get(blobUrl);
    if (target === undefined) {
      const url = new URL(blobUrl);
      target = { origin: originOf(url), path: url.pathname };
      targets.set(blobUrl, target);
    }
    return target;
  };

  const setMetadata = (
    blobUrl: string,
    metadata: Readonly<Record<string, string>>,
    ifMatch: string,
  ): Promise<string | undefined> => {
    const target = targetOf(blobUrl);
    const msHeaders: Record<string, string> = {
      "x-ms-date": new Date().toUTCString(),
      "x-ms-version": METADATA_API_VERSION,
    };
    for (const [key, value] of Object.entries(metadata)) msHeaders[`x-ms-meta-${key.toLowerCase()}`] = value;
    const headers: Record<string, string> = { ...msHeaders, "if-match": ifMatch, "content-length": "0" };
    let query = "comp=metadata";
    if (auth.kind === "sharedKey") {
      const signature = createHmac("sha256", auth.accountKey)
        .update(metadataStringToSign(auth.accountName, target.path, ifMatch, msHeaders), "utf8")
        .digest("base64");
      headers.authorization = `SharedKey ${auth.accountName}:${signature}`;
    } else {
      query += `&${auth.query}`;
    }
    return client.request(target.origin, "PUT", `${target.path}?${query}`, headers).then(outcome);
  };

  return { setMetadata, close: () => client.close() };
}

/** The new ETag, undefined for a failed condition (412), or the service's error. */
function outcome(response: PlainResponse): string | undefined {
  if (response.status === 200) return response.headers.get("etag");
  if (response.status === 412) return undefined;
  throw serviceError(response.status, response.headers.get("x-ms-error-code"), response.body);
}

/** A RestError like the SDK's for the same answer: status, service error code, the message text. */
function serviceError(status: number, errorCode: string | undefined, body: Buffer): RestError {
  const message = /<Message>([^<]*)<\/Message>/.exec(body.toString("utf8"))?.[1]?.split("\n")[0];
  const error = new RestError(
    `Set Blob Metadata failed with HTTP ${status}${errorCode ? ` ${errorCode}` : ""}${message ? `: ${message}` : ""}`,
    { statusCode: status, code: errorCode },
  );
  (error as RestError & { details: unknown }).details = { errorCode };
  return error;
}
