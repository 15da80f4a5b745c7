import { RECORDS_MUST_NOT_HOLD, loadEnvOrExit } from '@hotline/config';
import { createRecordsApp } from './bootstrap';

async function main() {
  const env = loadEnvOrExit('records', ['TOKEN_PRIVATE_KEY', 'MASTER_KEY', 'PSEUDONYM_KEY'], RECORDS_MUST_NOT_HOLD);
  const app = await createRecordsApp(env);
  await app.listen(env.RECORDS_PORT, '0.0.0.0');
}
main().catch((e) => {
  process.stderr.write(`[records] failed to start: ${e?.message ?? e}\n`);
  process.exit(1);
});
