import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

/** Conditions an `import()` of the package would match, in Node's order of preference. */
const IMPORT_CONDITIONS = ["node", "import", "default"];

function splitSpecifier(specifier: string): { name: string; subpath: string } {
  const parts = specifier.split("/");
  const nameParts = specifier.startsWith("@") ? 2 : 1;
  const name = parts.slice(0, nameParts).join("/");
  const rest = parts.slice(nameParts).join("/");
  return { name, subpath: rest === "" ? "." : `./${rest}` };
}

function findPackageDir(name: string, baseDir: string): string | undefined {
  let dir = resolve(baseDir);
  for (;;) {
    const candidate = join(dir, "node_modules", name);
    try {
      if (statSync(join(candidate, "package.json")).isFile()) return candidate;
    } catch {
      // Not installed at this level; Node keeps looking in the parent directories, and so do we.
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function resolveTarget(target: unknown, star: string | undefined): string | undefined {
  if (typeof target === "string") return star === undefined ? target : target.replaceAll("*", star);
  if (Array.isArray(target)) {
    for (const item of target) {
      const found = resolveTarget(item, star);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof target !== "object" || target === null) return undefined;
  for (const [condition, value] of Object.entries(target)) {
    if (!IMPORT_CONDITIONS.includes(condition)) continue;
    const found = resolveTarget(value, star);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The `exports` entry for a subpath: an exact key, else the longest matching `*` pattern. */
function matchSubpath(exports: unknown, subpath: string): { target: unknown; star?: string } | undefined {
  const isSubpathMap =
    typeof exports === "object" &&
    exports !== null &&
    !Array.isArray(exports) &&
    Object.keys(exports).some((k) => k.startsWith("."));
  const map = (isSubpathMap ? exports : { ".": exports }) as Record<string, unknown>;
  if (Object.hasOwn(map, subpath)) return { target: map[subpath] };
  const patterns = Object.keys(map)
    .filter((k) => k.includes("*"))
    .sort((a, b) => b.length - a.length);
  for (const pattern of patterns) {
    const [prefix = "", suffix = ""] = pattern.split("*");
    if (
      subpath.startsWith(prefix) &&
      subpath.endsWith(suffix) &&
      subpath.length >= prefix.length + suffix.length
    ) {
      return { target: map[pattern], star: subpath.slice(prefix.length, subpath.length - suffix.length) };
    }
  }
  return undefined;
}

/**
 * Resolves a package name (with optional subpath) to a file, as `import()` from a module in
 * `baseDir` would. `createRequire` handles packages with a `require`/`default` entry; packages that
 * export only for `import` make it fail, so their `exports` map is read here with the import
 * conditions. Returns undefined when the package is not installed or does not export the subpath.
 */
export function resolvePackageForImport(specifier: string, baseDir: string): string | undefined {
  try {
    return createRequire(join(baseDir, "__handlers__.js")).resolve(specifier);
  } catch {
    // Fall through to the import-conditions lookup below.
  }
  const { name, subpath } = splitSpecifier(specifier);
  const dir = findPackageDir(name, baseDir);
  if (dir === undefined) return undefined;
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { exports?: unknown };
  if (manifest.exports === undefined) return undefined;
  const match = matchSubpath(manifest.exports, subpath);
  const target = match === undefined ? undefined : resolveTarget(match.target, match.star);
  return target === undefined ? undefined : join(dir, target);
}
