/**
 * `npm run -s demo:code -- <username>`: the current second-factor code of a demo account the demo
 * enrolled (its TOTP secret is in .demo/secrets.env), and the key to add to an authenticator app.
 * Demo mode only: a real deployment has no such file, and each member enrols their own app.
 */
import { join } from 'path';
import { demoSecrets, demoTotpCode, totpSecretKey } from './demo';

const username = process.argv[2];
if (!username) {
  process.stderr.write('usage: npm run -s demo:code -- <username>\n');
  process.exit(2);
}
const secret = demoSecrets(join(__dirname, '..', '.demo', 'secrets.env'))[totpSecretKey(username)];
if (!secret) {
  process.stderr.write(`no second factor enrolled by the demo for ${username} (run npm run demo first)\n`);
  process.exit(1);
}
const left = 30 - (Math.floor(Date.now() / 1000) % 30);
process.stdout.write(`${demoTotpCode(secret)}   (good for ${left} s more; key for an authenticator app: ${secret})\n`);
