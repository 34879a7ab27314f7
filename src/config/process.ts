/**
 * This process's command line and environment. src/config is the only part that reads them
 * (`npm run lint` fails on a read elsewhere); every other part gets the values it needs passed in.
 */

/** The arguments after `node <script>`: what the `ehw` entry point dispatches on. */
export function commandLineArgs(): string[] {
  return process.argv.slice(2);
}

/** This process's environment, for the config readers' defaults. */
export function processEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}

/**
 * The environment of an `ehw` child process (a drill's or the dev stack's worker): this process's
 * variables without its `EHW_*` settings, so that only what the caller passes in `settings` (and
 * the child's own flags) configures the child, plus `settings`.
 */
export function childEnvironment(settings: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("EHW_")) env[name] = value;
  }
  return { ...env, ...settings };
}
