/**
 * Fails when a file under src/ outside src/config reads `process.argv` (biome's noProcessEnv
 * covers `process.env`, but has no rule for argv): only src/config reads the command line.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
/** `process.argv`, `process["argv"]` and `const { argv } = process`. */
const ARGV_READ =
  /\bprocess\s*(?:\?\.|\.)\s*argv\b|\bprocess\s*\[\s*["'`]argv["'`]\s*\]|\{[^}]*\bargv\b[^}]*\}\s*=\s*process\b/;

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.[cm]?[jt]s$/.test(entry.name)) yield path;
  }
}

const found = [];
for (const path of sourceFiles(join(ROOT, "src"))) {
  const name = relative(ROOT, path);
  if (name.startsWith(join("src", "config"))) continue;
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((line, index) => {
      if (ARGV_READ.test(line)) found.push(`${name}:${index + 1}: ${line.trim()}`);
    });
}
if (found.length > 0) {
  console.error(
    `process.argv read outside src/config (pass the arguments in; src/config/process.ts reads them):\n${found.join("\n")}`,
  );
  process.exit(1);
}
