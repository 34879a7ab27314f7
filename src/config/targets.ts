/**
 * Where the worker connects: the Event Hubs section (connection string, or namespace for
 * Microsoft Entra ID) and the checkpoint storage section (connection string, or account URL), each
 * set by exactly one of its two alternatives.
 */
import { ConfigError } from "../common/errors.js";
import {
  checkAccountUrl,
  checkContainerName,
  checkEventHubsConnectionString,
  checkNamespace,
  checkStorageConnectionString,
  resolveEventHubName,
} from "./connection.js";
import { exactlyOne, must } from "./setting-rules.js";
import type { RawWorkerOptions } from "./settings.js";
import type { EventHubsConfig, StorageConfig } from "./types.js";
import { parseBoolean, parseString } from "./values.js";

/** The compiled Event Hubs section; see the module comment. */
export function compileEventHubs(raw: RawWorkerOptions): EventHubsConfig {
  const which = exactlyOne(raw, "eventHubConnectionString", "eventHubNamespace", "Event Hubs connection");
  const nameSetting = raw.eventHubName && {
    ...raw.eventHubName,
    value: parseString("eventHubName", raw.eventHubName),
  };
  const consumerGroup = parseString("consumerGroup", must(raw, "consumerGroup"));
  if (which === "a") {
    const setting = must(raw, "eventHubConnectionString");
    const connectionString = parseString("eventHubConnectionString", setting);
    const info = checkEventHubsConnectionString({ ...setting, value: connectionString });
    const eventHubName = resolveEventHubName(nameSetting, info.entityPath, setting);
    return {
      connectionString,
      fullyQualifiedNamespace: undefined,
      endpointHost: info.endpointHost,
      eventHubName,
      consumerGroup,
    };
  }
  const setting = must(raw, "eventHubNamespace");
  const namespace = checkNamespace({ ...setting, value: parseString("eventHubNamespace", setting) });
  const eventHubName = resolveEventHubName(nameSetting, undefined, undefined);
  return {
    connectionString: undefined,
    fullyQualifiedNamespace: namespace,
    endpointHost: namespace,
    eventHubName,
    consumerGroup,
  };
}

/** The compiled checkpoint storage section; see the module comment. */
export function compileStorage(raw: RawWorkerOptions): StorageConfig {
  const which = exactlyOne(raw, "storageConnectionString", "storageAccountUrl", "checkpoint storage");
  let connectionString: string | undefined;
  let accountUrl: string | undefined;
  if (which === "a") {
    const setting = must(raw, "storageConnectionString");
    connectionString = parseString("storageConnectionString", setting);
    checkStorageConnectionString({ ...setting, value: connectionString });
  } else {
    const setting = must(raw, "storageAccountUrl");
    accountUrl = checkAccountUrl({ ...setting, value: parseString("storageAccountUrl", setting) });
  }
  const nameSetting = raw.containerName;
  if (nameSetting === undefined) {
    throw new ConfigError(
      "no checkpoint container: set EHW_CONTAINER_NAME, --container-name or containerName",
      {
        context: { setting: "containerName" },
      },
    );
  }
  const containerName = checkContainerName({
    ...nameSetting,
    value: parseString("containerName", nameSetting),
  });
  const createContainer = parseBoolean("createContainer", must(raw, "createContainer"));
  return { connectionString, accountUrl, containerName, createContainer };
}
