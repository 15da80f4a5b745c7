import { loadEnvOrExit } from '@hotline/config';
import { createRecordsApp } from './bootstrap';

async function main() {
  const env = loadEnvOrExit('records', ['JWT_SECRET', 'MASTER_KEY', 'PSEUDONYM_KEY']);
  const app = await createRecordsApp(env);
  await app.listen(env.RECORDS_PORT, '0.0.0.0');
}
main().catch((e) => {
  process.stderr.write(`[records] failed to start: ${e?.message ?? e}\n`);
  process.exit(1);
});
