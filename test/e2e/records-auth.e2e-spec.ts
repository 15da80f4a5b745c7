import { LOGIN_LIMITS } from '../../apps/records/src/auth/login-throttle';
import { FakeClock } from '../support/fake-clock';
import { TestStaff, bearer } from '../support/factories';
import { startRecordsApp, withRecordsApp } from '../support/records-app';

let addressSeq = 0;
/** A client address of its own for each test (records trusts X-Forwarded-For from loopback only, as behind the gateway). */
const freshAddress = () => `198.51.100.${++addressSeq}`;

describe('staff sign-in', () => {
  /** Runs with real time; a test moves it on rather than wait out a lock. */
  const clock = new FakeClock();
  const { f } = withRecordsApp({}, { clock });
  let admin: TestStaff;
  beforeAll(async () => {
    admin = await f.staff('admin');
  });

  const login = (username: string, password: string, address: string) =>
    f.http().post('/auth/login').set('X-Forwarded-For', address).send({ username, password });

  it('signs in with the right password and says the same thing for an unknown user and a wrong password', async () => {
    const op = await f.staff('operator');
    const ip = freshAddress();
    const ok = await login(op.username, op.password, ip);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      accessToken: expect.any(String),
      user: { id: op.id, username: op.username, role: 'operator', displayName: op.displayName },
    });
    const me = await f.http().get('/auth/me').set('Authorization', `Bearer ${ok.body.accessToken}`);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: op.id, username: op.username, role: 'operator' });

    const wrong = await login(op.username, 'not-the-password', ip);
    const unknown = await login(`nobody-${Date.now()}`, 'not-the-password', ip);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.message).toBe(unknown.body.message);
    expect(wrong.body.correlationId).toEqual(expect.any(String));
    expect((await f.http().get('/auth/me')).status).toBe(401);
    expect((await f.http().get('/auth/me').set('Authorization', 'Bearer forged.token.here')).status).toBe(401);
  });

  it('audits every sign-in, success and failure, without the password', async () => {
    const op = await f.staff('operator');
    const ip = freshAddress();
    await login(op.username, 'definitely-wrong-pw', ip).expect(401);
    await login(op.username, op.password, ip).expect(200);
    const rows = await f.db.query(
      "SELECT action, actor_id, actor_role, detail FROM audit_log WHERE target_type = 'staff' AND target_id = ? AND action LIKE 'auth.%' ORDER BY seq",
      [op.id],
    );
    expect(rows.map((r: any) => [r.action, r.actor_id, r.actor_role])).toEqual([
      ['auth.login_failed', op.id, 'operator'],
      ['auth.login', op.id, 'operator'],
    ]);
    const all = JSON.stringify(await f.db.query('SELECT * FROM audit_log'));
    expect(all).not.toContain('definitely-wrong-pw');
    expect(all).not.toContain(op.password);
  });

  it('stores argon2id hashes only', async () => {
    const op = await f.staff('operator');
    const [row] = await f.db.query('SELECT password_hash FROM staff WHERE id = ?', [op.id]);
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain(op.password);
  });

  describe('per account', () => {
    it('slows repeated failures down (429 with Retry-After), then locks the account (423) and records the lock', async () => {
      const op = await f.staff('operator');
      const ip = freshAddress();
      const { throttleAfter, lockAfter } = LOGIN_LIMITS.account;
      for (let i = 1; i <= throttleAfter; i++) await login(op.username, `wrong-${i}-password`, ip).expect(401);
      for (let i = throttleAfter + 1; i < lockAfter; i++) {
        const r = await login(op.username, op.password, ip); // even the right password waits
        expect(r.status).toBe(429);
        expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
        expect(r.body.correlationId).toEqual(expect.any(String));
      }
      const locked = await login(op.username, 'wrong-again-password', ip);
      expect(locked.status).toBe(423);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(60);
      const [row] = await f.db.query('SELECT locked_until FROM staff WHERE id = ?', [op.id]);
      expect(new Date(row.locked_until).getTime()).toBeGreaterThan(Date.now());
      // Locked means locked, from any address and with the right password.
      expect((await login(op.username, op.password, freshAddress())).status).toBe(423);
      // Other accounts are unaffected.
      const other = await f.staff('operator');
      expect((await login(other.username, other.password, ip)).status).toBe(200);
    });

    it('lets the right password in again once the delay, and then the lock, is over (time moved, not waited for)', async () => {
      const op = await f.staff('operator');
      const ip = freshAddress();
      const { throttleAfter, lockAfter, lockSeconds } = LOGIN_LIMITS.account;
      for (let i = 1; i <= throttleAfter; i++) await login(op.username, `wrong-${i}-password`, ip).expect(401);
      const slowed = await login(op.username, op.password, ip);
      expect(slowed.status).toBe(429);
      clock.advance(Number(slowed.headers['retry-after']) * 1000);
      await login(op.username, op.password, ip).expect(200);

      for (let i = 1; i <= throttleAfter; i++) await login(op.username, `wrong-${i}-password`, ip).expect(401);
      for (let i = throttleAfter + 1; i < lockAfter; i++) expect((await login(op.username, 'wrong-again-password', ip)).status).toBe(429);
      expect((await login(op.username, 'wrong-last-password', ip)).status).toBe(423);
      clock.advance(lockSeconds * 1000 - 5000);
      expect((await login(op.username, op.password, freshAddress())).status).toBe(423);
      clock.advance(5000);
      await login(op.username, op.password, freshAddress()).expect(200);
      const [row] = await f.db.query('SELECT failed_logins, locked_until FROM staff WHERE id = ?', [op.id]);
      expect(row).toEqual({ failed_logins: 0, locked_until: null });
    });

    it('treats an unknown username exactly like a real one, so throttling does not reveal which exist', async () => {
      const ip = freshAddress();
      const ghost = `ghost-${Date.now()}`;
      for (let i = 1; i <= LOGIN_LIMITS.account.throttleAfter; i++) await login(ghost, 'whatever-password', ip).expect(401);
      expect((await login(ghost, 'whatever-password', ip)).status).toBe(429);
    });

    it('a successful sign-in resets the account’s failure count', async () => {
      const op = await f.staff('operator');
      const ip = freshAddress();
      const almost = LOGIN_LIMITS.account.throttleAfter - 1;
      for (let i = 0; i < almost; i++) await login(op.username, 'wrong-password-x', ip).expect(401);
      await login(op.username, op.password, ip).expect(200);
      for (let i = 0; i < almost; i++) await login(op.username, 'wrong-password-y', ip).expect(401);
      expect((await login(op.username, op.password, ip)).status).toBe(200);
      const [row] = await f.db.query('SELECT failed_logins, locked_until FROM staff WHERE id = ?', [op.id]);
      expect(row).toEqual({ failed_logins: 0, locked_until: null });
    });
  });

  describe('per client address', () => {
    it('slows down and then locks an address that tries many accounts, whatever the usernames', async () => {
      const ip = freshAddress();
      const op = await f.staff('operator');
      const { throttleAfter, lockAfter } = LOGIN_LIMITS.address;
      for (let i = 1; i <= throttleAfter; i++) await login(`spray-${i}-${Date.now()}`, 'Winter2025!!', ip).expect(401);
      const slowed = await login(op.username, op.password, ip);
      expect(slowed.status).toBe(429);
      expect(slowed.body.message).toMatch(/address/);
      expect(Number(slowed.headers['retry-after'])).toBeGreaterThan(0);
      for (let i = throttleAfter + 2; i < lockAfter; i++) expect((await login(`spray-more-${i}`, 'Winter2025!!', ip)).status).toBe(429);
      const locked = await login(`spray-last`, 'Winter2025!!', ip);
      expect(locked.status).toBe(423);
      expect((await login(op.username, op.password, ip)).status).toBe(423);
      // The same person from another address is fine: the account itself was not attacked.
      expect((await login(op.username, op.password, freshAddress())).status).toBe(200);
    });

    it('does not count sign-ins with the right password against the address', async () => {
      const ip = freshAddress();
      const { throttleAfter } = LOGIN_LIMITS.address;
      for (let i = 1; i < throttleAfter; i++) await login(`typo-${i}-${Date.now()}`, 'Winter2025!!', ip).expect(401);
      for (let i = 0; i < 3; i++) {
        const colleague = await f.staff('operator');
        await login(colleague.username, colleague.password, ip).expect(200);
      }
      await login(`typo-last-${Date.now()}`, 'Winter2025!!', ip).expect(401);
      expect((await login(`typo-after-${Date.now()}`, 'Winter2025!!', ip)).status).toBe(429);
    });
  });

  describe('staff accounts', () => {
    it('an admin creates an account (201), which can then sign in; a taken username is 409', async () => {
      const body = { username: `new-op-${Date.now()}`, password: 'long enough passphrase', role: 'operator', displayName: 'New Operator' };
      const res = await f.http().post('/users').set(bearer(admin)).send(body);
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.any(String), username: body.username, role: 'operator', displayName: 'New Operator' });
      expect((await login(body.username, body.password, freshAddress())).status).toBe(200);
      const dup = await f
        .http()
        .post('/users')
        .set(bearer(admin))
        .send({ ...body, username: body.username.toUpperCase() });
      expect(dup.status).toBe(409);
      expect(dup.body.fields).toEqual(['username']);
      const [entry] = await f.db.query("SELECT actor_id, detail FROM audit_log WHERE action = 'staff.created' AND target_id = ?", [
        res.body.id,
      ]);
      expect(entry.actor_id).toBe(admin.id);
      expect(JSON.stringify(entry.detail)).not.toContain('New Operator');
      expect(JSON.stringify(entry.detail)).not.toContain(body.password);
    });

    it('refuses short passwords, unknown roles and unknown fields, naming them, and creates nothing', async () => {
      const before = await f.count('staff');
      const cases: [object, string][] = [
        [{ username: 'shorty-pw', password: 'short', role: 'operator', displayName: 'S' }, 'password'],
        [{ username: 'bad-role', password: 'long enough passphrase', role: 'root', displayName: 'S' }, 'role'],
        [{ username: 'extra-field', password: 'long enough passphrase', role: 'operator', displayName: 'S', isAdmin: true }, 'isAdmin'],
        [{ username: 'no name', password: 'long enough passphrase', role: 'operator', displayName: 'S' }, 'username'],
      ];
      for (const [body, field] of cases) {
        const res = await f.http().post('/users').set(bearer(admin)).send(body);
        expect(res.status).toBe(400);
        expect(res.body.fields).toContain(field);
      }
      expect(await f.count('staff')).toBe(before);
    });

    it('only admins create accounts', async () => {
      for (const role of ['operator', 'supervisor', 'records_officer', 'auditor'] as const) {
        const who = await f.staff(role);
        const res = await f
          .http()
          .post('/users')
          .set(bearer(who))
          .send({ username: `x-${role}`, password: 'long enough passphrase', role: 'admin', displayName: 'X' });
        expect(res.status).toBe(403);
      }
      expect((await f.http().post('/users').send({})).status).toBe(401);
    });
  });
});

describe('BOOTSTRAP_ADMIN', () => {
  it('creates that admin at start when no staff account exists, and only then', async () => {
    const first = await startRecordsApp();
    const db = first.f.db;
    const saved: any[] = await db.query('SELECT * FROM staff');
    await db.query('DELETE FROM staff');
    await first.close();
    const username = `root-${Date.now()}`;
    try {
      const app = await startRecordsApp({ BOOTSTRAP_ADMIN: `${username}:first admin passphrase` });
      const { f } = app;
      const res = await f
        .http()
        .post('/auth/login')
        .set('X-Forwarded-For', '203.0.113.9')
        .send({ username, password: 'first admin passphrase' });
      expect(res.status).toBe(200);
      expect(res.body.user.role).toBe('admin');
      await app.close();

      // Staff exist now: a second start with another BOOTSTRAP_ADMIN creates nobody.
      const again = await startRecordsApp({ BOOTSTRAP_ADMIN: `other-${username}:another passphrase` });
      expect(await again.f.count('staff')).toBe(1);
      await again.close();
    } finally {
      const restore = await startRecordsApp();
      try {
        const rdb = restore.f.db;
        for (const row of saved) {
          const cols = Object.keys(row);
          await rdb.query(
            `INSERT IGNORE INTO staff (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
            cols.map((c) => row[c]),
          );
        }
      } finally {
        await restore.close();
      }
    }
  });
});
