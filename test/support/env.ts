import { testEnvVars } from './test-config';
import { logCaptureFile } from './log-capture';

// Every test process sees the test databases and secrets, never the development ones.
for (const [k, v] of Object.entries(testEnvVars())) {
  if (k === 'LOG_LEVEL' && process.env.LOG_LEVEL) continue;
  process.env[k] = v;
}
// Every app's log lines also go to one file, scanned at the end of the run (test/security/log-capture).
process.env.LOG_CAPTURE_FILE ??= logCaptureFile();
