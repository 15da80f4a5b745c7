import { copyFileSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { randomBytes } from 'crypto';
import Redis from 'ioredis';
import { Secret } from 'otpauth';
import { sessionsChannel } from '@hotline/auth';
import { PROJECT_ROOT } from '@hotline/config';
import { envFor } from '../support/env-for';
import { TestStaff, bearer } from '../support/factories';
import { FakeClock } from '../support/fake-clock';
import { GatewayTestApp, startGatewayApp } from '../support/gateway-app';
import { withRecordsApp } from '../support/records-app';
import { Enrolled, signIn, totpCode } from '../support/staff-sign-in';
import { ConsoleClient, connectConsole } from '../support/webhooks';
import { CHALLENGE } from '../../apps/records/src/auth/login.service';
import { attack } from './support/attack-ledger';

/**
 * Issue 24, item 1: records does not believe what it reads in Redis about sign-in and sessions.
 * The attacker has raw access to Redis, as the gateway's host had before each app got its own Redis
 * user: they write, rewrite and delete whatever key they like, and publish on any channel. Each
 * attack is made from outside the apps (this process's own Redis connection, the apps' HTTP and
 * socket.io surfaces) and recorded in the attack ledger. Also: enrolment replaces nothing, and a
 * bearer token alone does not add a passkey or change a password (step-up).
 */
const AS = 'anyone who writes to Redis (the gateway’s host before ACLs)';
const AS_TOKEN = 'someone holding a member’s bearer token';

describe('authentication state in Redis cannot be forged', () => {
  const agreements = mkdtempSync(join(tmpdir(), 'hotline-agreements-'));
  copyFileSync(join(PROJECT_ROOT, 'config', 'agreements', '1.md'), join(agreements, '1.md'));
  const clock = new FakeClock();
  const staffEnv = { SECOND_FACTOR_ROLES: 'supervisor,records_officer,auditor,admin', AGREEMENTS_DIR: agreements };
  const records = withRecordsApp(staffEnv, { listen: true, clock });
  const { f } = records;
  let gateway: GatewayTestApp;
  const late: GatewayTestApp[] = [];
  const clients: ConsoleClient[] = [];
  let redis: Redis;
  let n = 0;
  const address = () => `198.51.100.${20 + (n++ % 200)}`;

  beforeAll(async () => {
    gateway = await startGatewayApp(envFor({ RECORDS_URL: records.url, AGREEMENTS_DIR: agreements }));
    redis = new Redis(envFor().REDIS_URL);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await gateway?.app.close();
    for (const g of late) await g.app.close();
    await redis?.quit();
    rmSync(agreements, { recursive: true, force: true });
  });

  /** A gateway node started now: it heard nothing of what happened before (only Redis and records can tell it). */
  async function freshNode(): Promise<GatewayTestApp> {
    const g = await startGatewayApp(envFor({ RECORDS_URL: records.url, AGREEMENTS_DIR: agreements }));
    late.push(g);
    return g;
  }

  const sidOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid;
  const refusedConnection = async (base: string, namespace: '/operator' | '/supervisor', token: string): Promise<string | null> => {
    try {
      const c = await connectConsole(base, namespace, token);
      clients.push(c);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  const secretOf = async (id: string): Promise<string | null> =>
    (await f.db.query('SELECT totp_secret FROM staff WHERE id = ?', [id]))[0]?.totp_secret ?? null;

  it('a forged `enrol` challenge carrying its own secret is refused: no token, the admin’s secret unchanged', async () => {
    const admin: Enrolled = await f.staff('admin');
    await signIn(f, admin, { address: address() });
    const before = await secretOf(admin.id);
    expect(before).toMatch(/^sealed:v1:/);
    const auditBefore = await f.count('audit_log', "action = 'auth.factor_enrolled' AND target_id = ?", [admin.id]);

    const mine = new Secret({ size: 20 }).base32;
    const id = randomBytes(32).toString('base64url');
    const refused = await attack(AS, 'forge an enrol challenge with its own TOTP secret to take over an admin', async () => {
      await redis.set(
        CHALLENGE(id),
        JSON.stringify({ staffId: admin.id, username: admin.username, kind: 'enrol', attempts: 0, pendingSecret: mine }),
        'EX',
        300,
      );
      const enrol = await f.http().post('/auth/factor/enrol').send({ challenge: id });
      const factor = await f
        .http()
        .post('/auth/factor')
        .set('X-Forwarded-For', address())
        .send({ challenge: id, code: totpCode(mine, clock.nowMs()) });
      return enrol.status === 401 && factor.status === 401 && !factor.body.accessToken && !enrol.body.secret;
    });
    expect(refused).toBe(true);

    // A challenge records did write, moved under another id (or altered), is refused too; and the
    // secret it offers cannot be read in Redis (records derives it, never stores it).
    const victim: Enrolled = await f.staff('supervisor');
    const login = await f
      .http()
      .post('/auth/login')
      .set('X-Forwarded-For', address())
      .send({ username: victim.username, password: victim.password });
    expect(login.body.factorRequired).toBe('enrol');
    const offered = (await f.http().post('/auth/factor/enrol').send({ challenge: login.body.challenge }).expect(200)).body.secret;
    const written = (await redis.get(CHALLENGE(login.body.challenge)))!;
    expect(written).not.toContain(offered);
    expect(await redis.keys('hl:{auth}:challenge:*')).not.toContain(`hl:{auth}:challenge:${login.body.challenge}`);
    expect(Buffer.from(written.split('.')[1], 'base64url').toString()).not.toContain(offered);
    const moved = randomBytes(32).toString('base64url');
    expect(
      await attack(AS, 'reuse a sign-in challenge under another id, or altered', async () => {
        await redis.set(CHALLENGE(moved), written, 'EX', 300);
        const a = await f
          .http()
          .post('/auth/factor')
          .set('X-Forwarded-For', address())
          .send({ challenge: moved, code: totpCode(offered, clock.nowMs()) });
        const [v, body, tag] = written.split('.');
        const raised = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), attempts: -100 }));
        await redis.set(CHALLENGE(login.body.challenge), `${v}.${raised.toString('base64url')}.${tag}`, 'KEEPTTL');
        const b = await f.http().post('/auth/factor/enrol').send({ challenge: login.body.challenge });
        return a.status === 401 && b.status === 401 && (await secretOf(victim.id)) === null;
      }),
    ).toBe(true);

    expect(await secretOf(admin.id)).toBe(before);
    expect(await f.count('audit_log', "action = 'auth.factor_enrolled' AND target_id = ?", [admin.id])).toBe(auditBefore);
    // The admin's own app still signs them in.
    clock.advance(31_000);
    await signIn(f, admin, { address: address() });
  });

  it('deleting the ended-session marker of a signed-out session revives nothing, at records or on any gateway node', async () => {
    const op: Enrolled = await f.staff('operator');
    const { token } = await signIn(f, op, { address: address() });
    const sid = sidOf(token);
    clients.push(await connectConsole(gateway.base, '/operator', token));
    await f.http().post('/auth/logout').set(bearer({ token })).expect(204);
    expect(await redis.exists(`hl:{auth}:ended-session:${sid}`)).toBe(1);

    const refused = await attack(AS, 'delete the ended-session marker to revive a signed-out token', async () => {
      await redis.del(`hl:{auth}:ended-session:${sid}`);
      const me = await f.http().get('/auth/me').set(bearer({ token }));
      const heard = await refusedConnection(gateway.base, '/operator', token);
      const fresh = await refusedConnection((await freshNode()).base, '/operator', token);
      return me.status === 401 && /session has ended/.test(heard ?? '') && /session has ended/.test(fresh ?? '');
    });
    expect(refused).toBe(true);
  });

  it('rewriting the cut-off of a member whose sessions ended (password reset) revives nothing', async () => {
    const admin: Enrolled = await f.staff('admin');
    await signIn(f, admin, { address: address() });
    const op: Enrolled = await f.staff('operator');
    const { token } = await signIn(f, op, { address: address() });
    await f.http().post(`/users/${op.id}/password-reset`).set(bearer(admin)).expect(200);
    await f.http().get('/auth/me').set(bearer({ token })).expect(401);

    const refused = await attack(AS, 'rewrite or delete the sessions-ended-before cut-off of a member', async () => {
      await redis.set(`hl:{auth}:sessions-ended-before:${op.id}`, '0');
      const rewritten = await f.http().get('/auth/me').set(bearer({ token }));
      const node = await refusedConnection(gateway.base, '/operator', token);
      await redis.del(`hl:{auth}:sessions-ended-before:${op.id}`);
      const deleted = await f.http().get('/auth/me').set(bearer({ token }));
      const fresh = await refusedConnection((await freshNode()).base, '/operator', token);
      return rewritten.status === 401 && deleted.status === 401 && node !== null && /session has ended/.test(fresh ?? '');
    });
    expect(refused).toBe(true);
  });

  it('writing an acceptance of the agreement does not accept it: still agreement_required, over HTTP and sockets', async () => {
    const other: Enrolled = await f.staff('operator');
    await signIn(f, other, { address: address() }); // accepts version 1: records signs their copy
    const op: Enrolled = await f.staff('operator');
    const { token } = await signIn(f, op, { address: address(), acceptAgreement: false });
    const key = `hl:{auth}:agreed:${op.id}`;

    const refused = await attack(AS, 'write an acceptance of the agreement for a member who never accepted it', async () => {
      const attempts = [
        '1',
        JSON.stringify({ staffId: op.id, version: '1' }),
        // Records' own signed acceptance of another member, copied: signed for their key, not this one.
        (await redis.get(`hl:{auth}:agreed:${other.id}`))!,
      ];
      for (const value of attempts) {
        await redis.set(key, value, 'PX', 60_000);
        const calls = await f.http().get('/calls').set(bearer({ token }));
        const socket = await refusedConnection(gateway.base, '/operator', token);
        if (calls.status !== 403 || calls.body.error !== 'agreement_required' || socket !== 'agreement_required') return false;
      }
      return true;
    });
    expect(refused).toBe(true);
    expect(await f.count('agreement_acceptances', 'staff_id = ?', [op.id])).toBe(0);

    // Locked meanwhile, the lock comes first (a reloaded console shows it), then the agreement once unlocked.
    await f.http().post('/auth/lock').set(bearer({ token })).expect(204);
    expect((await f.http().get('/auth/me').set(bearer({ token })).expect(200)).body.locked).toBe(true);
    expect((await f.http().get('/agreements/current').set(bearer({ token })).expect(403)).body.error).toBe('locked');
    await f
      .http()
      .post('/auth/unlock')
      .set(bearer({ token }))
      .set('X-Forwarded-For', address())
      .send({ password: op.password })
      .expect(200);
    expect((await f.http().get('/auth/me').set(bearer({ token })).expect(403)).body.error).toBe('agreement_required');
  });

  it('writing an unlock does not unlock: the session stays locked at records and on every gateway node until the password is given', async () => {
    const op: Enrolled = await f.staff('operator');
    const { token } = await signIn(f, op, { address: address() });
    const sid = sidOf(token);
    const console1 = await connectConsole(gateway.base, '/operator', token);
    clients.push(console1);
    const closed = new Promise<void>((resolve) => console1.socket.once('disconnect', () => resolve()));
    await f.http().post('/auth/lock').set(bearer({ token })).expect(204);
    await console1.next('session:locked', () => true, { timeoutMs: 1000 });
    await closed;
    expect((await f.http().get('/calls').set(bearer({ token })).expect(403)).body.error).toBe('locked');
    expect((await f.http().get('/auth/me').set(bearer({ token })).expect(200)).body.locked).toBe(true);

    const refused = await attack(AS, 'delete the lock marker and announce an unlock to use a locked console', async () => {
      await redis.del(`hl:{auth}:locked:${sid}`);
      await redis.publish(
        sessionsChannel(Number(new URL(envFor().REDIS_URL).pathname.slice(1)) || 0),
        JSON.stringify({ kind: 'unlocked', staffId: op.id, sid, at: Date.now() }),
      );
      await new Promise((r) => setTimeout(r, 200));
      const calls = await f.http().get('/calls').set(bearer({ token }));
      const me = await f.http().get('/auth/me').set(bearer({ token }));
      const heard = await refusedConnection(gateway.base, '/operator', token);
      const fresh = await refusedConnection((await freshNode()).base, '/operator', token);
      return calls.status === 403 && calls.body.error === 'locked' && me.body.locked === true && heard === 'locked' && fresh === 'locked';
    });
    expect(refused).toBe(true);

    // The password unlocks the same session: requests and consoles are served again.
    const wrong = await f
      .http()
      .post('/auth/unlock')
      .set(bearer({ token }))
      .set('X-Forwarded-For', address())
      .send({ password: 'not-the-password' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.fields).toEqual(['password']);
    await f
      .http()
      .post('/auth/unlock')
      .set(bearer({ token }))
      .set('X-Forwarded-For', address())
      .send({ password: op.password })
      .expect(200);
    await f.http().get('/calls').set(bearer({ token })).expect(200);
    clients.push(await connectConsole(gateway.base, '/operator', token));
    expect(await f.count('audit_log', "action IN ('auth.session_locked', 'auth.session_unlocked') AND target_id = ?", [op.id])).toBe(2);
  });

  it('every socket event is checked: once a session is marked locked, its next event is refused and its console closed', async () => {
    const op: Enrolled = await f.staff('operator');
    const { token } = await signIn(f, op, { address: address() });
    const client = await connectConsole(gateway.base, '/operator', token);
    clients.push(client);
    await client.next('status');
    // The marker alone, as a node that missed the announcement would find it (a forged lock only refuses more).
    await redis.set(`hl:{auth}:locked:${sidOf(token)}`, 'x', 'PX', 60_000);
    expect(await client.emit('status:set', { status: 'available' })).toEqual({ ok: false, error: 'locked' });
    await client.next('session:locked', () => true, { timeoutMs: 1000 });
  });

  it('a bearer token alone adds no passkey and changes no password: step_up_required, until password and code are given again', async () => {
    const sup: Enrolled = await f.staff('supervisor');
    const { token } = await signIn(f, sup, { address: address() });
    const hash = (await f.db.query('SELECT password_hash FROM staff WHERE id = ?', [sup.id]))[0].password_hash;
    clock.advance(6 * 60 * 1000); // the sign-in's proof is older than the step-up window now

    const refused = await attack(AS_TOKEN, 'add a passkey or change the password with the token (and the password) alone', async () => {
      const options = await f.http().post('/auth/passkeys/options').set(bearer({ token }));
      const add = await f
        .http()
        .post('/auth/passkeys')
        .set(bearer({ token }))
        .send({ response: { id: 'x', rawId: 'x', type: 'public-key', response: {} } });
      const password = await f
        .http()
        .post('/auth/password')
        .set(bearer({ token }))
        .send({ currentPassword: sup.password, newPassword: 'plum orbit ladder quietly' });
      const now = (await f.db.query('SELECT password_hash FROM staff WHERE id = ?', [sup.id]))[0].password_hash;
      return (
        options.status === 403 &&
        options.body.error === 'step_up_required' &&
        add.status === 400 &&
        password.status === 403 &&
        password.body.error === 'step_up_required' &&
        now === hash &&
        (await f.count('staff_passkeys', 'staff_id = ?', [sup.id])) === 0
      );
    });
    expect(refused).toBe(true);
    // A token minted without any sign-in has no proof at all.
    const minted = await f.staff('operator');
    await f.http().post('/agreements/1/accept').set(bearer(minted)).expect(200);
    expect((await f.http().post('/auth/passkeys/options').set(bearer(minted)).expect(403)).body.error).toBe('step_up_required');

    // Password and code again: the step-up stands for a few minutes.
    const missing = await f
      .http()
      .post('/auth/step-up')
      .set(bearer({ token }))
      .set('X-Forwarded-For', address())
      .send({ password: sup.password });
    expect([missing.status, missing.body.error]).toEqual([400, 'factor_required']);
    const step = Math.floor(clock.nowMs() / 30000) + 1;
    const up = await f
      .http()
      .post('/auth/step-up')
      .set(bearer({ token }))
      .set('X-Forwarded-For', address())
      .send({ password: sup.password, code: totpCode(sup.totpSecret!, step * 30000) })
      .expect(200);
    expect(new Date(up.body.stepUpUntil).getTime()).toBeGreaterThan(clock.nowMs());
    await f.http().post('/auth/passkeys/options').set(bearer({ token })).expect(200);
    await f
      .http()
      .post('/auth/password')
      .set(bearer({ token }))
      .send({ currentPassword: sup.password, newPassword: 'plum orbit ladder quietly' })
      .expect(200);
  });

  it('enrolment replaces nothing: a second enrolment begun before the first finished is refused, the first secret kept', async () => {
    const sup: TestStaff = await f.staff('supervisor');
    const start = async () => {
      const login = await f
        .http()
        .post('/auth/login')
        .set('X-Forwarded-For', address())
        .send({ username: sup.username, password: sup.password });
      expect(login.body.factorRequired).toBe('enrol');
      const enrol = await f.http().post('/auth/factor/enrol').send({ challenge: login.body.challenge }).expect(200);
      return { challenge: login.body.challenge as string, secret: enrol.body.secret as string };
    };
    const first = await start();
    const second = await start();
    await f
      .http()
      .post('/auth/factor')
      .set('X-Forwarded-For', address())
      .send({ challenge: first.challenge, code: totpCode(first.secret, clock.nowMs()) })
      .expect(200);
    const kept = await secretOf(sup.id);

    const refused = await attack(
      AS_TOKEN.replace('bearer token', 'password'),
      'enrol a second TOTP secret over an existing one',
      async () => {
        const res = await f
          .http()
          .post('/auth/factor')
          .set('X-Forwarded-For', address())
          .send({ challenge: second.challenge, code: totpCode(second.secret, clock.nowMs()) });
        return res.status === 409 && res.body.error === 'factor_enrolled' && !res.body.accessToken && (await secretOf(sup.id)) === kept;
      },
    );
    expect(refused).toBe(true);
    // From now on the password asks for a code, never an enrolment.
    const again = await f
      .http()
      .post('/auth/login')
      .set('X-Forwarded-For', address())
      .send({ username: sup.username, password: sup.password });
    expect(again.body.factorRequired).toBe('totp');
  });
});
