import { testEnvVars } from './test-config';

// Every test process sees the test databases and secrets, never the development ones.
for (const [k, v] of Object.entries(testEnvVars())) {
  if (k === 'LOG_LEVEL' && process.env.LOG_LEVEL) continue;
  process.env[k] = v;
}
