import { Env, loadEnv } from '@hotline/config';
import type { DbApp } from '../../scripts/db-accounts';
import { testEnvVars, withAppAccount } from './test-config';

/**
 * A validated Env for an app under test, with overrides (ports default to 0 = any free port). With
 * `app`, the databases are reached as that app's own account (also through an overridden URL that
 * names the migrator, e.g. a proxy's); without, as the migrator.
 */
export function envFor(overrides: Record<string, string> = {}, app?: DbApp): Env {
  const vars = { ...process.env, ...testEnvVars(), GATEWAY_PORT: '0', RECORDS_PORT: '0', WORKER_PORT: '0', ...overrides };
  return loadEnv([], app ? withAppAccount(vars, app) : vars);
}
