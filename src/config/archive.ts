/**
 * Worker defaults of the `archive` built-in's options: without storage settings of its own the
 * archive writes to the worker's checkpoint storage account, and {Namespace} comes from the
 * worker's Event Hubs host. Applied to the compiled handler section before it is frozen.
 */
import type { CompiledHandlersConfig } from "./handlers.js";

/**
 * Capture's {Namespace}: the first label of a `*.servicebus.windows.net` style host; a host that is
 * an IP address or a single label (the emulator's `127.0.0.1`, `localhost`) as it is.
 */
export function namespaceOfHost(host: string): string {
  const name = host.replace(/:\d+$/, "").toLowerCase();
  if (/^[\d.]+$/.test(name) || !name.includes(".")) return name;
  return name.split(".")[0] ?? name;
}

/** Fills in `storageConnectionString` / `storageAccountUrl` and `namespace` of archive handlers that lack them. */
export function withArchiveDefaults(
  handlers: CompiledHandlersConfig,
  storage: { readonly connectionString?: string; readonly accountUrl?: string },
  eventHubsHost: string | undefined,
): CompiledHandlersConfig {
  for (const spec of handlers.handlers) {
    if (spec.source.kind !== "builtin" || spec.source.builtin !== "archive") continue;
    const options = spec.options;
    if (options.storageConnectionString === undefined && options.storageAccountUrl === undefined) {
      if (storage.connectionString !== undefined) options.storageConnectionString = storage.connectionString;
      else if (storage.accountUrl !== undefined) options.storageAccountUrl = storage.accountUrl;
    }
    if (options.namespace === undefined && eventHubsHost !== undefined) {
      options.namespace = namespaceOfHost(eventHubsHost);
    }
  }
  return handlers;
}
