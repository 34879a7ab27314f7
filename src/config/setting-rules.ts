/**
 * Small steps every section of the worker config compiles with: a setting that defaults
 * guarantee, a rejected pair of settings, and a choice of exactly one of two alternatives. Each
 * error names the settings as the user wrote them (flag, variable or config key, and value).
 */
import { ConfigError } from "../common/errors.js";
import { type RawSetting, type RawWorkerOptions, SETTINGS, type SettingKey } from "./settings.js";
import { settingWithValue, sourceLabel } from "./values.js";

/** A setting known to be present after defaults. */
export function must(raw: RawWorkerOptions, key: SettingKey): RawSetting {
  const setting = raw[key];
  if (setting === undefined)
    throw new ConfigError(`${key} has no value and no default`, { context: { setting: key } });
  return setting;
}

/** Rejects a combination of two settings, naming both as the user wrote them. */
export function rejectPair(
  a: [SettingKey, RawSetting],
  b: [SettingKey, RawSetting],
  problem: string,
  allowed: string,
): never {
  throw new ConfigError(`${settingWithValue(...a)} ${problem} ${settingWithValue(...b)} (${allowed})`, {
    context: { setting: sourceLabel(a[1].source) },
  });
}

/** Exactly one of two alternative settings; returns which one is present. */
export function exactlyOne(raw: RawWorkerOptions, a: SettingKey, b: SettingKey, what: string): "a" | "b" {
  const sa = raw[a];
  const sb = raw[b];
  if (sa !== undefined && sb !== undefined) {
    rejectPair([a, sa], [b, sb], "conflicts with", `${what}: set exactly one of ${a} and ${b}`);
  }
  if (sa === undefined && sb === undefined) {
    const [ea, eb] = [SETTINGS[a].env, SETTINGS[b].env];
    throw new ConfigError(`no ${what}: set ${ea} (${a}) or ${eb} (${b})`, { context: { setting: a } });
  }
  return sa !== undefined ? "a" : "b";
}
