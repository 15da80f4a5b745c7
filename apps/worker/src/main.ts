import { WORKER_MUST_NOT_HOLD, loadEnvOrExit, retentionConfig } from '@hotline/config';
import { createWorkerApp } from './bootstrap';

async function main() {
  const env = loadEnvOrExit('worker', ['MASTER_KEY', 'PSEUDONYM_KEY'], WORKER_MUST_NOT_HOLD);
  try {
    retentionConfig(env);
  } catch (e) {
    process.stderr.write(`[worker] ${(e as Error).message}\n`);
    process.exit(1);
  }
  const app = await createWorkerApp(env);
  // Loopback unless WORKER_HOST says otherwise: the worker serves only health and metrics.
  await app.listen(env.WORKER_PORT, env.WORKER_HOST);
}
main().catch((e) => {
  process.stderr.write(`[worker] failed to start: ${e?.message ?? e}\n`);
  process.exit(1);
});
