/**
 * The dead-letter section of the worker config, and its default container name, derived from the
 * checkpoint container so that one setting names both; src/deadletter builds blob names inside it.
 */
import { ConfigError } from "../common/errors.js";
import type { RawWorkerOptions } from "./settings.js";
import type { DeadLetterConfig, StorageConfig } from "./types.js";
import { parseString, reject } from "./values.js";

/** Suffix of the default dead-letter container name. */
export const DEAD_LETTER_CONTAINER_SUFFIX = "-deadletter";
/** Longest blob container name Azure accepts. */
const MAX_CONTAINER_NAME = 63;

/**
 * `<checkpoint container>-deadletter`, the checkpoint container's name shortened (and stripped of
 * trailing dashes) so that the result stays within Azure's 63 characters. Throws ConfigError for
 * an empty name.
 */
export function defaultDeadLetterContainer(checkpointContainer: string): string {
  if (checkpointContainer === "") {
    throw new ConfigError("no checkpoint container name to derive the dead-letter container from", {
      context: { setting: "deadLetterContainer" },
    });
  }
  const room = MAX_CONTAINER_NAME - DEAD_LETTER_CONTAINER_SUFFIX.length;
  const base = checkpointContainer.slice(0, room).replace(/-+$/, "");
  return `${base}${DEAD_LETTER_CONTAINER_SUFFIX}`;
}

/** The dead-letter container: the setting (Blob naming rules, not the checkpoint container) or the default. */
export function compileDeadLetter(raw: RawWorkerOptions, storage: StorageConfig): DeadLetterConfig {
  const setting = raw.deadLetterContainer;
  if (setting === undefined) return { containerName: defaultDeadLetterContainer(storage.containerName) };
  const name = parseString("deadLetterContainer", setting);
  if (name.length < 3 || name.length > 63 || !/^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/.test(name)) {
    reject(
      "deadLetterContainer",
      setting,
      "must be 3 to 63 characters of lower-case letters, digits and single hyphens, starting and ending with a letter or digit",
    );
  }
  // Dead-letter documents beside ownership and checkpoint blobs would make both harder to read.
  if (name === storage.containerName)
    reject("deadLetterContainer", setting, "must differ from containerName");
  return { containerName: name };
}
