/**
 * How to run our own `ehw` CLI as a child process, from the built output or from the TypeScript
 * sources (tests and `npm run ehw`), whatever the child's working directory is.
 */
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

/** A command and its arguments, ready for `spawn`. */
export interface CommandLine {
  command: string;
  args: string[];
}

/** Inputs of {@link resolveEhwCommand}; the defaults describe this running module. */
export interface EhwCommandContext {
  /** URL of a module in the `local` directory next to `cli`; default: this module's. */
  moduleUrl: string;
  /** Node executable; default `process.execPath`. */
  execPath: string;
  /** Resolves the file URL of tsx's ESM loader; only called for TypeScript sources. */
  tsxLoaderUrl: () => string;
}

/** Whether a module URL is a TypeScript source rather than built JavaScript. */
export function isTypeScriptSource(moduleUrl: string): boolean {
  return /\.[cm]?ts$/.test(new URL(moduleUrl).pathname);
}

/**
 * The command that runs `ehw ...args`: `node <dist>/cli/index.js ...` when this module was built
 * to JavaScript, or `node --import <tsx loader> <repo>/src/cli/index.ts ...` when it runs from
 * the TypeScript sources. Paths are absolute so the child's working directory does not matter.
 */
export function resolveEhwCommand(args: readonly string[], context: EhwCommandContext): CommandLine {
  if (isTypeScriptSource(context.moduleUrl)) {
    const entry = fileURLToPath(new URL("../cli/index.ts", context.moduleUrl));
    return { command: context.execPath, args: ["--import", context.tsxLoaderUrl(), entry, ...args] };
  }
  const entry = fileURLToPath(new URL("../cli/index.js", context.moduleUrl));
  return { command: context.execPath, args: [entry, ...args] };
}

/** File URL of the loader behind `node --import tsx`, resolved from this package's dependencies. */
export function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(require.resolve("tsx")).href;
}

/** The command that runs `ehw ...args` as a child process; see {@link resolveEhwCommand}. */
export function ehwCommand(args: readonly string[]): CommandLine {
  return resolveEhwCommand(args, { moduleUrl: import.meta.url, execPath: process.execPath, tsxLoaderUrl });
}
