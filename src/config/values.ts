import { ConfigError } from "../common/errors.js";
import { redactSecrets } from "../observability/logger.js";
import { type RawSetting, SETTINGS, type SettingKey, type SettingSource } from "./settings.js";

/** How a source names its setting: `--flag`, `ENV_VAR`, `key (in /path/config.json)`, or `key (default)`. */
export function sourceLabel(source: SettingSource): string {
  switch (source.kind) {
    case "flag":
    case "env":
      return source.name;
    case "file":
      return `${source.name} (in ${source.path})`;
    case "default":
      return `${source.name} (default)`;
  }
}

/** `NAME="value"`, with the value hidden for secrets and any key material removed otherwise. */
export function settingWithValue(key: SettingKey, setting: RawSetting): string {
  const label = sourceLabel(setting.source);
  if (isSecret(key)) return `${label} (value hidden)`;
  if (typeof setting.value === "string") return `${label}=${JSON.stringify(redactSecrets(setting.value))}`;
  return `${label}=${redactSecrets(JSON.stringify(setting.value) ?? String(setting.value))}`;
}

function isSecret(key: SettingKey): boolean {
  const spec: { secret?: boolean } = SETTINGS[key];
  return spec.secret === true;
}

/** Throws the ConfigError for a rejected value: which setting, what it was, what is allowed. */
export function reject(key: SettingKey, setting: RawSetting, problem: string, cause?: unknown): never {
  throw new ConfigError(`${settingWithValue(key, setting)} ${problem} (${key}: ${SETTINGS[key].meaning})`, {
    cause,
    context: { setting: sourceLabel(setting.source) },
  });
}

const DIGITS = /^[0-9]+$/;

/**
 * An integer ≥ `min`. Strings (from flags and env) must be plain decimal digits: no sign, no
 * spaces, no units, no `12abc`. File values must be JSON numbers.
 */
export function parseInteger(key: SettingKey, setting: RawSetting, min: number): number {
  const { value } = setting;
  let n: number | undefined;
  if (typeof value === "number") n = value;
  else if (typeof value === "string" && setting.source.kind !== "file" && DIGITS.test(value))
    n = Number(value);
  const kind =
    min === 1 ? "a positive integer" : min === 0 ? "a non-negative integer" : `an integer ≥ ${min}`;
  if (n === undefined || !Number.isSafeInteger(n)) reject(key, setting, `is not ${kind}`);
  if (n < min) reject(key, setting, `is not ${kind}`);
  return n;
}

/** `true` or `false`: JSON booleans in the file, the words `true` / `false` from flags and env. */
export function parseBoolean(key: SettingKey, setting: RawSetting): boolean {
  const { value } = setting;
  if (typeof value === "boolean") return value;
  if (setting.source.kind !== "file" && (value === "true" || value === "false")) return value === "true";
  return reject(key, setting, "is not true or false");
}

/** A non-empty string without surrounding whitespace. */
export function parseString(key: SettingKey, setting: RawSetting): string {
  const { value } = setting;
  if (typeof value !== "string") return reject(key, setting, "is not a string");
  if (value.trim() === "") return reject(key, setting, "is empty");
  if (value.trim() !== value) return reject(key, setting, "has leading or trailing whitespace");
  return value;
}

/** One of a fixed set of words. */
export function parseChoice<const C extends string>(
  key: SettingKey,
  setting: RawSetting,
  choices: readonly C[],
): C {
  const { value } = setting;
  if (typeof value === "string" && (choices as readonly string[]).includes(value)) return value as C;
  return reject(key, setting, `is not one of ${choices.join(", ")}`);
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const above = row[j] ?? 0;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/** The known name closest to `name`, when it is close enough to be a plausible typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
