import { FakeClock } from '../support/fake-clock';
import { TestStaff, bearer } from '../support/factories';
import { startRecordsApp, withRecordsApp } from '../support/records-app';
import { removeAllStaff, restoreStaff } from '@hotline/auth/fixtures';

let addressSeq = 0;
/** A client address of its own for each test (records trusts X-Forwarded-For from loopback only, as behind the gateway). */
const freshAddress = () => {
  const n = ++addressSeq;
  return `198.51.${100 + (n >> 8)}.${n & 255}`;
};

/*
 * The sign-in limits as docs/records.md documents them, written out here rather than imported from the
 * code, so that a change to either shows up as a failing test (issue 12):
 * - one username from one address: after 5 failures attempts wait (Retry-After 30 s, doubling, at
 *   most 5 minutes); attempts made while waiting count too; at 10 that username is locked from that
 *   address for 15 minutes;
 * - one username from every address together: after 20 failures attempts wait 5 s, doubling, at
 *   most 60 s, never locked; an address where the account signed in in the last 30 days is spared;
 * - one address, every username: after 20 failures it waits (30 s, doubling), at 40 it is locked for
 *   15 minutes; one username counts there at most 5 times;
 * - failures are forgotten 15 minutes after the last one. No account is ever locked.
 */
const PAIR_SLOWED_AFTER = 5;
const PAIR_LOCKED_AT = 10;
const FIRST_WAIT_SECONDS = 30;
const LOCK_SECONDS = 15 * 60;
const ACCOUNT_SLOWED_AFTER = 20;
const ACCOUNT_FIRST_WAIT_SECONDS = 5;
const ACCOUNT_MAX_WAIT_SECONDS = 60;
const ADDRESS_SLOWED_AFTER = 20;
const ADDRESS_LOCKED_AT = 40;
const ADDRESS_COUNT_PER_USERNAME = 5;

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
      lastSignInAt: null,
      failedAttemptsSince: 0,
      mustChangePassword: false,
      idleLockSeconds: 600,
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

  const wrongTimes = async (username: string, ip: string, times: number) => {
    const statuses: number[] = [];
    for (let i = 1; i <= times; i++) statuses.push((await login(username, `wrong-${i}-password`, ip)).status);
    return statuses;
  };
  const staffRow = async (id: string) => (await f.db.query('SELECT failed_logins, locked_until FROM staff WHERE id = ?', [id]))[0];

  describe('per username and client address', () => {
    it('slows repeated failures down (429 with Retry-After), then locks that username from that address only (423)', async () => {
      const op = await f.staff('operator');
      const ip = freshAddress();
      expect(await wrongTimes(op.username, ip, PAIR_SLOWED_AFTER)).toEqual(Array(PAIR_SLOWED_AFTER).fill(401));
      for (let i = PAIR_SLOWED_AFTER + 1; i < PAIR_LOCKED_AT; i++) {
        const r = await login(op.username, op.password, ip); // even the right password waits
        expect(r.status).toBe(429);
        expect(r.body.message).toMatch(/this account from your address/);
        if (i === PAIR_SLOWED_AFTER + 1) expect(Number(r.headers['retry-after'])).toBe(FIRST_WAIT_SECONDS);
        expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
        expect(r.body.correlationId).toEqual(expect.any(String));
      }
      const locked = await login(op.username, 'wrong-again-password', ip);
      expect(locked.status).toBe(423);
      expect(Number(locked.headers['retry-after'])).toBe(LOCK_SECONDS);
      expect((await login(op.username, op.password, ip)).status).toBe(423);
      // Not the account: the same member from another address signs in, and nothing is kept on the staff row.
      expect((await login(op.username, op.password, freshAddress())).status).toBe(200);
      expect((await staffRow(op.id)).locked_until).toBeNull();
      // Their success elsewhere does not lift the lock where the failures were.
      expect((await login(op.username, op.password, ip)).status).toBe(423);
      // Other accounts from that address are unaffected.
      const other = await f.staff('operator');
      expect((await login(other.username, other.password, ip)).status).toBe(200);
    });

    it('ten wrong passwords for a username from one address do not lock that member out from their own address', async () => {
      const op = await f.staff('operator');
      const home = freshAddress();
      await login(op.username, op.password, home).expect(200);
      const stranger = freshAddress();
      expect(await wrongTimes(op.username, stranger, 10)).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 423]);
      // A typo of their own at home, then the right password: still in.
      await login(op.username, 'my-own-typo-password', home).expect(401);
      await login(op.username, op.password, home).expect(200);
      // And from a third address too (never signed in from there).
      await login(op.username, op.password, freshAddress()).expect(200);
      expect((await login(op.username, op.password, stranger)).status).toBe(423);
    });

    it('lets the right password in again once the delay, and then the lock, is over (time moved, not waited for)', async () => {
      const op = await f.staff('operator');
      const ip = freshAddress();
      await wrongTimes(op.username, ip, PAIR_SLOWED_AFTER);
      const slowed = await login(op.username, op.password, ip);
      expect(slowed.status).toBe(429);
      expect(Number(slowed.headers['retry-after'])).toBe(FIRST_WAIT_SECONDS);
      clock.advance(FIRST_WAIT_SECONDS * 1000);
      await login(op.username, op.password, ip).expect(200);

      // The success cleared that address's count for this username: the same again from the start.
      expect(await wrongTimes(op.username, ip, PAIR_SLOWED_AFTER)).toEqual(Array(PAIR_SLOWED_AFTER).fill(401));
      for (let i = PAIR_SLOWED_AFTER + 1; i < PAIR_LOCKED_AT; i++)
        expect((await login(op.username, 'wrong-again-password', ip)).status).toBe(429);
      expect((await login(op.username, 'wrong-last-password', ip)).status).toBe(423);
      clock.advance(LOCK_SECONDS * 1000 - 5000);
      expect((await login(op.username, op.password, ip)).status).toBe(423);
      clock.advance(5000);
      const back = await login(op.username, op.password, ip);
      expect(back.status).toBe(200);
      // Refused since the last sign-in: 5 wrong, 4 slowed, the one that locked, and the one still locked.
      expect(back.body.failedAttemptsSince).toBe(11);
      expect(await staffRow(op.id)).toEqual({ failed_logins: 0, locked_until: null });
    });

    it('treats an unknown username exactly like a real one, so throttling does not reveal which exist', async () => {
      const ip = freshAddress();
      const ghost = `ghost-${Date.now()}`;
      const op = await f.staff('operator');
      const ghostly = await wrongTimes(ghost, ip, PAIR_LOCKED_AT);
      const real = await wrongTimes(op.username, ip, PAIR_LOCKED_AT);
      expect(ghostly).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 423]);
      expect(real).toEqual(ghostly);
    });

    it('a successful sign-in resets the count of that username from that address', async () => {
      const op = await f.staff('operator');
      const ip = freshAddress();
      const almost = PAIR_SLOWED_AFTER - 1;
      await wrongTimes(op.username, ip, almost);
      await login(op.username, op.password, ip).expect(200);
      await wrongTimes(op.username, ip, almost);
      const again = await login(op.username, op.password, ip);
      expect(again.status).toBe(200);
      expect(again.body.failedAttemptsSince).toBe(almost);
      expect(await staffRow(op.id)).toEqual({ failed_logins: 0, locked_until: null });
    });
  });

  describe('per account, across addresses', () => {
    it('slows a guesser spread over many addresses down, the wait at most 60 s, and never locks the account', async () => {
      const op = await f.staff('operator');
      const home = freshAddress();
      await login(op.username, op.password, home).expect(200);
      // One wrong guess from each of many addresses: no address sees more than one failure.
      for (let i = 1; i <= ACCOUNT_SLOWED_AFTER; i++) await login(op.username, `guess-${i}-password`, freshAddress()).expect(401);
      const slowed = await login(op.username, `guess-next-password`, freshAddress());
      expect(slowed.status).toBe(429);
      expect(slowed.body.message).toMatch(/for this account;/);
      expect(Number(slowed.headers['retry-after'])).toBe(ACCOUNT_FIRST_WAIT_SECONDS);
      // Guesses made while it waits are refused unchecked; the wait grows, but never past the cap.
      for (let i = 0; i < 30; i++) expect((await login(op.username, `guess-more-${i}-password`, freshAddress())).status).toBe(429);
      clock.advance(ACCOUNT_FIRST_WAIT_SECONDS * 1000);
      await login(op.username, 'one-more-guess-password', freshAddress()).expect(401);
      const capped = await login(op.username, 'and-another-password', freshAddress());
      expect(capped.status).toBe(429);
      expect(Number(capped.headers['retry-after'])).toBe(ACCOUNT_MAX_WAIT_SECONDS);

      // The member, from where they signed in before, is not kept waiting, and their success does not lift the wait.
      const fromHome = await login(op.username, op.password, home);
      expect(fromHome.status).toBe(200);
      expect(fromHome.body.failedAttemptsSince).toBe(ACCOUNT_SLOWED_AFTER + 1 + 30 + 2);
      const elsewhere = freshAddress();
      const waiting = await login(op.username, op.password, elsewhere);
      expect(waiting.status).toBe(429);
      expect(Number(waiting.headers['retry-after'])).toBeLessThanOrEqual(ACCOUNT_MAX_WAIT_SECONDS);
      // From a new address: in once the capped wait is over; the account was never locked.
      clock.advance(ACCOUNT_MAX_WAIT_SECONDS * 1000);
      await login(op.username, op.password, elsewhere).expect(200);
      expect(await staffRow(op.id)).toEqual({ failed_logins: 0, locked_until: null });
    });
  });

  describe('per client address', () => {
    it('slows down and then locks an address that tries many usernames, and locks no account', async () => {
      const ip = freshAddress();
      const op = await f.staff('operator');
      for (let i = 1; i <= ADDRESS_SLOWED_AFTER; i++) await login(`spray-${i}-${Date.now()}`, 'Winter2025!!', ip).expect(401);
      const slowed = await login(op.username, op.password, ip);
      expect(slowed.status).toBe(429);
      expect(slowed.body.message).toMatch(/from your address/);
      expect(Number(slowed.headers['retry-after'])).toBe(FIRST_WAIT_SECONDS);
      for (let i = ADDRESS_SLOWED_AFTER + 2; i < ADDRESS_LOCKED_AT; i++)
        expect((await login(`spray-more-${i}`, 'Winter2025!!', ip)).status).toBe(429);
      const locked = await login(`spray-last`, 'Winter2025!!', ip);
      expect(locked.status).toBe(423);
      expect(locked.body.message).toMatch(/from your address/);
      expect(Number(locked.headers['retry-after'])).toBe(LOCK_SECONDS);
      expect((await login(op.username, op.password, ip)).status).toBe(423);
      // The same person from another address is fine: no account was attacked.
      expect((await login(op.username, op.password, freshAddress())).status).toBe(200);
      clock.advance(LOCK_SECONDS * 1000);
      await login(op.username, op.password, ip).expect(200);
    });

    it('counts one username at most five times towards its address, so one member’s failures cannot lock their office', async () => {
      const ip = freshAddress();
      const colleagues = await Promise.all([1, 2, 3].map(() => f.staff('operator')));
      // Three members each lock themselves out of this address: 30 failures, 15 of them counted for the address.
      for (const c of colleagues) expect((await wrongTimes(c.username, ip, PAIR_LOCKED_AT)).at(-1)).toBe(423);
      const others = ADDRESS_SLOWED_AFTER - colleagues.length * ADDRESS_COUNT_PER_USERNAME;
      for (let i = 1; i <= others; i++) await login(`typo-${i}-${Date.now()}`, 'Winter2025!!', ip).expect(401);
      // Only now has the address as such failed 20 times.
      expect((await login(`typo-after-${Date.now()}`, 'Winter2025!!', ip)).status).toBe(429);
    });

    it('does not count sign-ins with the right password against the address', async () => {
      const ip = freshAddress();
      for (let i = 1; i < ADDRESS_SLOWED_AFTER; i++) await login(`typo-${i}-${Date.now()}`, 'Winter2025!!', ip).expect(401);
      for (let i = 0; i < 3; i++) {
        const colleague = await f.staff('operator');
        await login(colleague.username, colleague.password, ip).expect(200);
      }
      await login(`typo-last-${Date.now()}`, 'Winter2025!!', ip).expect(401);
      expect((await login(`typo-after-${Date.now()}`, 'Winter2025!!', ip)).status).toBe(429);
    });
  });

  describe('at the next sign-in', () => {
    it('tells the account holder when they last signed in and how many attempts failed since, from anywhere', async () => {
      const op = await f.staff('operator');
      const home = freshAddress();
      const first = await login(op.username, op.password, home);
      expect(first.body).toMatchObject({ lastSignInAt: null, failedAttemptsSince: 0 });
      const [firstEntry] = await f.db.query(
        "SELECT at FROM audit_log WHERE action = 'auth.login' AND target_type = 'staff' AND target_id = ? ORDER BY seq DESC LIMIT 1",
        [op.id],
      );

      // Two wrong passwords from one address, six attempts from another (the last one slowed, which counts too).
      await wrongTimes(op.username, freshAddress(), 2);
      expect((await wrongTimes(op.username, freshAddress(), PAIR_SLOWED_AFTER + 1)).at(-1)).toBe(429);
      const next = await login(op.username, op.password, home);
      expect(next.status).toBe(200);
      expect(next.body.lastSignInAt).toBe(new Date(firstEntry.at).toISOString());
      expect(next.body.failedAttemptsSince).toBe(8);

      const after = await login(op.username, op.password, home);
      expect(after.body.failedAttemptsSince).toBe(0);
      expect(Date.parse(after.body.lastSignInAt)).toBeGreaterThanOrEqual(Date.parse(next.body.lastSignInAt));
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
    const saved = await removeAllStaff(db);
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
        await restoreStaff(restore.f.db, saved);
      } finally {
        await restore.close();
      }
    }
  });
});
