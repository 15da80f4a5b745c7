import { Env, loadEnv } from '@hotline/config';
import { testEnvVars } from './test-config';

/** A validated Env for an app under test, with overrides (ports default to 0 = any free port). */
export function envFor(overrides: Record<string, string> = {}): Env {
  return loadEnv([], { ...process.env, ...testEnvVars(), GATEWAY_PORT: '0', RECORDS_PORT: '0', WORKER_PORT: '0', ...overrides });
}
