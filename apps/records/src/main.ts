import { RECORDS_MUST_NOT_HOLD, loadEnvOrExit } from '@hotline/config';
import { createRecordsApp } from './bootstrap';

async function main() {
  const env = loadEnvOrExit('records', ['TOKEN_PRIVATE_KEY', 'MASTER_KEY', 'PSEUDONYM_KEY'], RECORDS_MUST_NOT_HOLD);
  const app = await createRecordsApp(env);
  // Loopback unless RECORDS_HOST says otherwise: records is reached through the gateway's /api and by staff tools, never from the internet.
  await app.listen(env.RECORDS_PORT, env.RECORDS_HOST);
}
main().catch((e) => {
  process.stderr.write(`[records] failed to start: ${e?.message ?? e}\n`);
  process.exit(1);
});
