import { randomBytes } from 'crypto';
import { FakeClock } from '../support/fake-clock';
import { withRecordsApp } from '../support/records-app';

/**
 * Password guessing in parallel. The sequential behaviour (429, then 423, per username and address,
 * per account and per address) is covered in test/e2e/records-auth; here the attacker does not wait for answers:
 * a burst of simultaneous guesses must not get more passwords checked than a patient attacker
 * would, and must not let the right password in once the limit is spent. "Checked" is read from
 * the audit trail: a guess that reached the password check is audited as bad_password or
 * unknown_user, one refused before it as throttled or locked.
 */
let addressSeq = 0;
const freshAddress = () => {
  const n = ++addressSeq;
  return `192.0.${2 + (n >> 8)}.${n & 255}`;
};

/* The documented limits (docs/records.md, sign-in), written out rather than imported from the code. */
const PAIR_SLOWED_AFTER = 5;
const ACCOUNT_SLOWED_AFTER = 20;
const ACCOUNT_MAX_WAIT_SECONDS = 60;
const ADDRESS_SLOWED_AFTER = 20;
const ADDRESS_LOCKED_AT = 40;

describe('brute force under parallel attempts', () => {
  const clock = new FakeClock();
  const { f } = withRecordsApp({}, { clock });

  const login = (username: string, password: string, address: string) =>
    f.http().post('/auth/login').set('X-Forwarded-For', address).send({ username, password });

  const auditHead = async (): Promise<number> => Number((await f.db.query('SELECT COALESCE(MAX(seq), 0) AS s FROM audit_log'))[0].s);

  /** Failed sign-ins audited since `seq`, by reason (this run's database: nothing else writes to it meanwhile). */
  async function failuresSince(seq: number): Promise<Record<string, number>> {
    const rows: { reason: string; n: number }[] = await f.db.query(
      "SELECT JSON_UNQUOTE(JSON_EXTRACT(detail, '$.reason')) AS reason, COUNT(*) AS n FROM audit_log WHERE action = 'auth.login_failed' AND seq > ? GROUP BY reason",
      [seq],
    );
    return Object.fromEntries(rows.map((r) => [r.reason, Number(r.n)]));
  }
  const checked = (o: Record<string, number>) => (o.bad_password ?? 0) + (o.unknown_user ?? 0) + (o.inactive ?? 0);

  it('checks no more passwords of one account than its limit allows, however many guesses arrive at once from many addresses', async () => {
    const op = await f.staff('operator');
    const burst = 40;
    const since = await auditHead();
    const answers = await Promise.all(Array.from({ length: burst }, (_, i) => login(op.username, `wrong-guess-${i}`, freshAddress())));
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => [401, 429].includes(s))).toBe(true);

    const audited = await failuresSince(since);
    expect(Object.values(audited).reduce((a, b) => a + b, 0)).toBe(burst);
    expect(checked(audited)).toBeLessThanOrEqual(ACCOUNT_SLOWED_AFTER);

    // The account is slowed now: the right password waits, from anywhere new...
    const slowed = await login(op.username, op.password, freshAddress());
    expect(slowed.status).toBe(429);
    expect(Number(slowed.headers['retry-after'])).toBeLessThanOrEqual(ACCOUNT_MAX_WAIT_SECONDS);
    // ...but it is never locked: once the capped wait is over, the right password is let in.
    clock.advance(ACCOUNT_MAX_WAIT_SECONDS * 1000);
    expect((await login(op.username, op.password, freshAddress())).status).toBe(200);
  });

  it('does not let the right password in when it arrives in a burst after the limit is spent', async () => {
    const op = await f.staff('operator');
    const wrong = Array.from({ length: 3 * ACCOUNT_SLOWED_AFTER }, (_, i) =>
      login(op.username, `wrong-${i}`, freshAddress()).then((r) => r.status),
    );
    // Sent once every wrong guess is on its way, as an attacker's last guess would be.
    await new Promise((r) => setTimeout(r, 30));
    const right = await login(op.username, op.password, freshAddress());
    await Promise.all(wrong);
    expect(right.status).not.toBe(200);
    expect(right.body.accessToken).toBeUndefined();
  });

  it('checks no more passwords of one username from one address than its limit allows, and locks only that pair', async () => {
    const op = await f.staff('operator');
    const address = freshAddress();
    const burst = 40;
    const since = await auditHead();
    const answers = await Promise.all(Array.from({ length: burst }, (_, i) => login(op.username, `wrong-guess-${i}`, address)));
    expect(answers.every((r) => [401, 423, 429].includes(r.status))).toBe(true);
    const audited = await failuresSince(since);
    expect(Object.values(audited).reduce((a, b) => a + b, 0)).toBe(burst);
    expect(checked(audited)).toBeLessThanOrEqual(PAIR_SLOWED_AFTER);

    // That username is locked from that address, even with the right password; not from another.
    expect((await login(op.username, op.password, address)).status).toBe(423);
    expect((await login(op.username, op.password, freshAddress())).status).toBe(200);
  });

  it('checks no more passwords from one address than its limit allows, spread over many usernames at once', async () => {
    const address = freshAddress();
    const prefix = `spray-${randomBytes(4).toString('hex')}`;
    const real = await Promise.all(Array.from({ length: 5 }, () => f.staff('operator')));
    const usernames = Array.from({ length: 2 * ADDRESS_LOCKED_AT }, (_, i) => (i < real.length ? real[i].username : `${prefix}-${i}`));
    const since = await auditHead();
    const answers = await Promise.all(usernames.map((u, i) => login(u, `sprayed-password-${i}`, address)));
    expect(answers.every((r) => [401, 423, 429].includes(r.status))).toBe(true);
    const audited = await failuresSince(since);
    expect(Object.values(audited).reduce((a, b) => a + b, 0)).toBe(usernames.length);
    expect(checked(audited)).toBeLessThanOrEqual(ADDRESS_SLOWED_AFTER);

    // The address is locked for everyone now, even with a right password.
    const later = await f.staff('operator');
    expect((await login(later.username, later.password, address)).status).toBe(423);
    // Another address is not, and no account was locked: each sprayed member signs in from elsewhere.
    expect((await login(later.username, later.password, freshAddress())).status).toBe(200);
    for (const member of real) expect((await login(member.username, member.password, freshAddress())).status).toBe(200);
  });
});
