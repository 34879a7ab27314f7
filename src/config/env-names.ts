/**
 * Unknown `EHW_*` variables. A misspelled flag or config key is refused with a suggestion, but a
 * misspelled variable would otherwise be ignored without a word (`EHW_CHECKPOINT_EVRY=5` leaves
 * the default 100). Other tools may share the prefix, so these are warnings, not errors.
 */
import { REMOVED_SETTINGS, SETTINGS } from "./settings.js";
import { closestName } from "./values.js";

/** Variables the config reader knows besides the scalar settings' own. */
const OTHER_VARIABLES = ["EHW_CONFIG", "EHW_START_POSITION"];

/** Every `EHW_*` variable the config reader reads (or refuses as removed). */
export const KNOWN_ENV_NAMES: ReadonlySet<string> = new Set([
  ...Object.values(SETTINGS).map((spec) => spec.env),
  ...Object.values(REMOVED_SETTINGS).map((spec) => spec.env),
  ...OTHER_VARIABLES,
]);

/** One variable with the `EHW_` prefix that no setting reads. */
export interface UnknownEnvVariable {
  /** The variable's name as set. */
  readonly name: string;
  /** The closest known name, when one is close. */
  readonly suggestion: string | undefined;
  /** One line saying both, for a log or stderr. */
  readonly message: string;
}

/** The `EHW_*` variables in `env` that no setting reads, each with its closest known name. */
export function unknownEnvVariables(env: NodeJS.ProcessEnv): UnknownEnvVariable[] {
  const known = [...KNOWN_ENV_NAMES];
  return Object.keys(env)
    .filter((name) => name.startsWith("EHW_") && !KNOWN_ENV_NAMES.has(name))
    .sort()
    .map((name) => {
      const suggestion = closestName(name, known);
      const hint = suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`;
      return { name, suggestion, message: `unknown variable ${name} is ignored${hint}` };
    });
}
