import { join } from 'path';
import { PROJECT_ROOT } from '@hotline/config';
import { DemoAccount, demoSignIn, ensureDemoAccounts, totpSecretKey } from '../../scripts/demo';
import { withRecordsApp } from '../support/records-app';

/**
 * The demo with the second factor and the agreement as shipped: its admin signs in through TOTP
 * (enrolled once, the secret kept), accepts the agreement, makes the accounts, and enrols the
 * supervisor's factor so that `npm run demo:code` can print codes for a newcomer.
 */
describe('demo accounts with a second factor', () => {
  const records = withRecordsApp(
    { SECOND_FACTOR_ROLES: 'supervisor,records_officer,auditor,admin', AGREEMENTS_DIR: join(PROJECT_ROOT, 'config', 'agreements') },
    { listen: true },
  );

  it('enrols the admin and the supervisor, keeps their secrets, and signs them in again with a code', async () => {
    const admin = await records.f.staff('admin');
    const suffix = admin.id.slice(0, 6);
    const accounts: DemoAccount[] = [
      { username: `demo-op-${suffix}`, role: 'operator', displayName: 'Alex (operator)', secret: 'OP_PW' },
      { username: `demo-sup-${suffix}`, role: 'supervisor', displayName: 'Morgan (supervisor)', secret: 'SUP_PW' },
    ];
    const secrets: Record<string, string> = { OP_PW: 'plum orbit ladder quietly', SUP_PW: 'velvet canyon pocket seventeen' };
    const remembered: Record<string, string> = {};
    const result = await ensureDemoAccounts(records.url, admin, accounts, secrets, undefined, (k, v) => (remembered[k] = v));
    expect(Object.keys(result).sort()).toEqual(accounts.map((a) => a.username).sort());
    expect(Object.keys(remembered).sort()).toEqual([totpSecretKey(admin.username), totpSecretKey(accounts[1].username)].sort());
    expect(remembered[totpSecretKey(accounts[0].username)]).toBeUndefined();
    // A second run (the demo restarted at once) signs in with the kept secret, the next step's code if need be.
    expect(await demoSignIn(records.url, admin, secrets, () => undefined)).toEqual(expect.any(String));
    expect(await demoSignIn(records.url, { username: accounts[1].username, password: secrets.SUP_PW }, secrets, () => undefined)).toEqual(
      expect.any(String),
    );
  });
});
