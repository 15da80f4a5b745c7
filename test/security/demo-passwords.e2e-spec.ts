import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DEMO_ACCOUNTS, demoSecrets, strongPassword } from '../../scripts/demo';

/** `npm run demo`'s sign-ins (issue 12 item 6): one strong password per account, kept in .demo/secrets.env. */
describe('demo passwords', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hotline-demo-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('are 20 random characters (100 bits) in groups of four, never the same twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const p = strongPassword();
      expect(p).toMatch(/^[a-km-np-z2-9]{4}(-[a-km-np-z2-9]{4}){4}$/);
      seen.add(p);
    }
    expect(seen.size).toBe(500);
  });

  it('gives the admin and each demo account a password of its own, kept in the secrets file (0600) and read back', () => {
    const file = join(dir, 'secrets.env');
    const first = demoSecrets(file);
    const names = ['DEMO_ADMIN_PASSWORD', ...DEMO_ACCOUNTS.map((a) => a.secret)];
    expect(DEMO_ACCOUNTS.map((a) => a.username)).toEqual(['operator1', 'operator2', 'supervisor', 'records', 'auditor']);
    const passwords = names.map((n) => first[n]);
    expect(new Set(passwords).size).toBe(names.length);
    for (const p of passwords) expect(p.replace(/-/g, '').length).toBeGreaterThanOrEqual(20);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = demoSecrets(file);
    expect(names.map((n) => again[n])).toEqual(passwords);
  });

  it("keeps an earlier demo's shared password (its accounts still sign in with it) while adding the new ones", () => {
    const file = join(dir, 'secrets.env');
    const earlier = demoSecrets(file);
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => !/^DEMO_(OPERATOR1|OPERATOR2|SUPERVISOR)_PASSWORD=/.test(l));
    writeFileSync(file, [...lines, 'DEMO_PASSWORD=calm-river-1234', ''].join('\n'), { mode: 0o600 });
    const now = demoSecrets(file);
    expect(now.DEMO_PASSWORD).toBe('calm-river-1234');
    expect(now.DEMO_ADMIN_PASSWORD).toBe(earlier.DEMO_ADMIN_PASSWORD);
    expect(now.MASTER_KEY).toBe(earlier.MASTER_KEY);
    for (const a of DEMO_ACCOUNTS) expect(now[a.secret]).toMatch(/^[a-z2-9]{4}(-[a-z2-9]{4}){4}$/);
    expect(readFileSync(file, 'utf8')).toMatch(/^DEMO_PASSWORD=calm-river-1234$/m);
  });
});
