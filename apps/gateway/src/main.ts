import { loadEnvOrExit } from '@hotline/config';
import { createGatewayApp } from './bootstrap';

async function main() {
  const env = loadEnvOrExit('gateway', ['JWT_SECRET', 'PSEUDONYM_KEY', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']);
  const app = await createGatewayApp(env);
  await app.listen(env.GATEWAY_PORT, '0.0.0.0');
}
main().catch((e) => {
  process.stderr.write(`[gateway] failed to start: ${e?.message ?? e}\n`);
  process.exit(1);
});
