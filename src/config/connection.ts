import { ConfigError } from "../common/errors.js";
import type { RawSetting } from "./settings.js";
import { reject, sourceLabel } from "./values.js";

/** The parts of an Event Hubs connection string the worker checks; the key itself is not kept. */
export interface EventHubsConnectionInfo {
  /** Host of the Endpoint, e.g. `myns.servicebus.windows.net` or `127.0.0.1:5672`. */
  readonly endpointHost: string;
  /** EntityPath, when the string names a hub. */
  readonly entityPath: string | undefined;
}

/** The parts of a storage connection string worth showing; never the key. */
export interface StorageConnectionInfo {
  /** AccountName, when given. */
  readonly accountName: string | undefined;
  /** BlobEndpoint, when given. */
  readonly blobEndpoint: string | undefined;
}

/** Splits `A=b;C=d` into a case-insensitive map (keys lower-cased); values may contain `=`. */
export function parseConnectionStringParts(text: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const segment of text.split(";")) {
    const at = segment.indexOf("=");
    if (segment.trim() === "" || at <= 0) continue;
    parts.set(segment.slice(0, at).trim().toLowerCase(), segment.slice(at + 1).trim());
  }
  return parts;
}

/** Validates an Event Hubs connection string; the ConfigError names the setting, never the key. */
export function checkEventHubsConnectionString(setting: RawSetting<string>): EventHubsConnectionInfo {
  const key = "eventHubConnectionString";
  const parts = parseConnectionStringParts(setting.value);
  const endpoint = parts.get("endpoint");
  if (!endpoint) return reject(key, setting, "has no Endpoint=sb://<namespace>/");
  let host: string;
  try {
    const url = new URL(endpoint);
    if (url.protocol !== "sb:" || url.host === "") throw new TypeError("not an sb:// URL");
    host = url.host;
  } catch (err) {
    return reject(key, setting, "has an Endpoint that is not an sb://<host>/ URL", err);
  }
  if (!parts.has("sharedaccesssignature")) {
    if (!parts.get("sharedaccesskeyname")) return reject(key, setting, "has no SharedAccessKeyName");
    if (!parts.get("sharedaccesskey")) return reject(key, setting, "has no SharedAccessKey");
  }
  return { endpointHost: host, entityPath: parts.get("entitypath") || undefined };
}

/** Validates a storage connection string; the ConfigError names the setting, never the key. */
export function checkStorageConnectionString(setting: RawSetting<string>): StorageConnectionInfo {
  const key = "storageConnectionString";
  const parts = parseConnectionStringParts(setting.value);
  if (parts.get("usedevelopmentstorage")?.toLowerCase() === "true") {
    return { accountName: "devstoreaccount1", blobEndpoint: undefined };
  }
  const accountName = parts.get("accountname") || undefined;
  const blobEndpoint = parts.get("blobendpoint") || undefined;
  if (!accountName && !blobEndpoint) return reject(key, setting, "has neither AccountName nor BlobEndpoint");
  if (!parts.get("accountkey") && !parts.get("sharedaccesssignature")) {
    return reject(key, setting, "has neither AccountKey nor SharedAccessSignature");
  }
  if (blobEndpoint !== undefined && !isHttpUrl(blobEndpoint)) {
    return reject(key, setting, "has a BlobEndpoint that is not an http(s) URL");
  }
  return { accountName, blobEndpoint };
}

/** A fully qualified namespace: a host name (optionally with a port), no scheme or path. */
export function checkNamespace(setting: RawSetting<string>): string {
  const value = setting.value;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    return reject(
      "eventHubNamespace",
      setting,
      "must be a host name without a scheme, e.g. myns.servicebus.windows.net",
    );
  }
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/.test(value)) {
    return reject("eventHubNamespace", setting, "is not a host name, e.g. myns.servicebus.windows.net");
  }
  return value;
}

/** A storage account URL: http(s), no query string (a SAS belongs in a connection string). */
export function checkAccountUrl(setting: RawSetting<string>): string {
  if (!isHttpUrl(setting.value)) {
    return reject(
      "storageAccountUrl",
      setting,
      "is not an http(s) URL, e.g. https://acct.blob.core.windows.net",
    );
  }
  if (new URL(setting.value).search !== "") {
    return reject(
      "storageAccountUrl",
      setting,
      "must not carry a query string; put a SAS in a connection string",
    );
  }
  return setting.value;
}

/** Blob container naming rules, each reported on its own. */
export function checkContainerName(setting: RawSetting<string>): string {
  const name = setting.value;
  const rule = containerNameProblem(name);
  if (rule !== undefined) return reject("containerName", setting, rule);
  return name;
}

function containerNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return "must be 3 to 63 characters long";
  if (!/^[a-z0-9-]+$/.test(name)) return "may contain only lower-case letters, digits and hyphens";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return "must start and end with a letter or digit";
  if (name.includes("--")) return "must not contain two hyphens in a row";
  return undefined;
}

/** The Event Hub name from the setting and/or EntityPath; both given must agree. */
export function resolveEventHubName(
  nameSetting: RawSetting<string> | undefined,
  entityPath: string | undefined,
  connectionSetting: RawSetting | undefined,
): string {
  if (nameSetting === undefined) {
    if (entityPath !== undefined) return entityPath;
    throw new ConfigError(
      "no event hub name: set EHW_EVENTHUB_NAME, --eventhub-name or eventHubName, or put EntityPath in the connection string",
      { context: { setting: "eventHubName" } },
    );
  }
  if (entityPath !== undefined && entityPath !== nameSetting.value) {
    const where = connectionSetting ? sourceLabel(connectionSetting.source) : "the connection string";
    return reject(
      "eventHubName",
      nameSetting,
      `disagrees with EntityPath=${JSON.stringify(entityPath)} in ${where}; drop one or make them equal`,
    );
  }
  return nameSetting.value;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "https:" || url.protocol === "http:") && url.host !== "";
  } catch {
    return false;
  }
}
