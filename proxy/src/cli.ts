import { ConfigError, loadConfig, type Config } from './config.js';

/**
 * What the command-line entry points (proxy, migrate, the compose stack's proxy) share: failures a
 * user can fix end the process with one clear line, never a stack trace.
 */
export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/** Runs one start-up step; its failure (port taken, database unreachable, bad prices file) exits with one line. */
export async function step<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    console.error(`Tollgate could not start: ${what}: ${(err as Error).message}`);
    process.exit(1);
  }
}
