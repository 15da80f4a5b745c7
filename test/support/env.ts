import { testEnvVars } from './test-config';
import { logCaptureFile } from './log-capture';

// Every test process sees the test databases and secrets, never the development ones.
for (const [k, v] of Object.entries(testEnvVars())) {
  if (k === 'LOG_LEVEL' && process.env.LOG_LEVEL) continue;
  process.env[k] = v;
}
// Every app's log lines also go to one file, scanned at the end of the run (test/security/log-capture).
process.env.LOG_CAPTURE_FILE ??= logCaptureFile();
// The Twilio peer writes every REST request and webhook it checked to the run's record (test/support/twilio-contract.ts).
process.env.HOTLINE_TWILIO_CONTRACT_RECORD = '1';
