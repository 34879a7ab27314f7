/**
 * The default dead-letter container name, derived from the checkpoint container so that one
 * setting names both; src/deadletter builds blob names inside it.
 */
import { ConfigError } from "../common/errors.js";

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
