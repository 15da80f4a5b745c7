import { GATEWAY_MUST_NOT_HOLD, loadEnvOrExit } from '@hotline/config';
import { createGatewayApp } from './bootstrap';

async function main() {
  const env = loadEnvOrExit(
    'gateway',
    ['TOKEN_PUBLIC_KEY', 'PSEUDONYM_KEY', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN'],
    GATEWAY_MUST_NOT_HOLD,
  );
  const app = await createGatewayApp(env);
  await app.listen(env.GATEWAY_PORT, '0.0.0.0');
}
main().catch((e) => {
  process.stderr.write(`[gateway] failed to start: ${e?.message ?? e}\n`);
  process.exit(1);
});
