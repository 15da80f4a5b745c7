import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PROJECT_ROOT } from '@hotline/config';
import { ROLES } from '@hotline/contract';
import { envFor } from '../support/env-for';
import { TestStaff, bearer } from '../support/factories';
import { FakeClock } from '../support/fake-clock';
import { GatewayTestApp, startGatewayApp } from '../support/gateway-app';
import { withRecordsApp } from '../support/records-app';
import { Enrolled, signIn, totpCode } from '../support/staff-sign-in';
import { connectConsole } from '../support/webhooks';

/**
 * Issue 16, staff accounts as shipped: SECOND_FACTOR_ROLES at its default and the agreement of
 * config/agreements (copied to a directory of the test's own, so that a new version can be published).
 */
describe('staff accounts: second factor, agreement, passwords, sessions', () => {
  const agreements = mkdtempSync(join(tmpdir(), 'hotline-agreements-'));
  copyFileSync(join(PROJECT_ROOT, 'config', 'agreements', '1.md'), join(agreements, '1.md'));
  const clock = new FakeClock();
  const staffEnv = { SECOND_FACTOR_ROLES: 'supervisor,records_officer,auditor,admin', AGREEMENTS_DIR: agreements };
  const records = withRecordsApp(staffEnv, { listen: true, clock });
  const { f } = records;
  let gateway: GatewayTestApp;
  let second: GatewayTestApp;
  let admin: Enrolled;
  let n = 0;
  /** Each sign-in from an address of its own, so that one test's failures slow no other. */
  const address = () => `198.51.100.${10 + (n++ % 200)}`;

  beforeAll(async () => {
    gateway = await startGatewayApp(envFor({ RECORDS_URL: records.url, AGREEMENTS_DIR: agreements }));
    second = await startGatewayApp(envFor({ RECORDS_URL: records.url, AGREEMENTS_DIR: agreements }));
    admin = await f.staff('admin');
    await signIn(f, admin, { address: address() });
  });
  afterAll(async () => {
    await gateway?.app.close();
    await second?.app.close();
    rmSync(agreements, { recursive: true, force: true });
  });

  const login = (s: TestStaff, addr = address()) =>
    f.http().post('/auth/login').set('X-Forwarded-For', addr).send({ username: s.username, password: s.password });

  describe('second factor', () => {
    it('is required of supervisors, records officers, auditors and admins, not of operators (by default)', async () => {
      for (const role of ROLES) {
        const s = await f.staff(role);
        const res = await login(s).expect(200);
        if (role === 'operator') {
          expect(res.body.accessToken).toEqual(expect.any(String));
          expect(res.body.factorRequired).toBeUndefined();
        } else {
          expect(res.body).toEqual({ factorRequired: 'enrol', challenge: expect.any(String) });
          expect(res.body.accessToken).toBeUndefined();
        }
      }
    });

    it('enrols TOTP (QR code, recovery codes), then asks for a code at each sign-in; a code works once', async () => {
      const sup: Enrolled = await f.staff('supervisor');
      const first = await login(sup).expect(200);
      const enrol = await f.http().post('/auth/factor/enrol').send({ challenge: first.body.challenge }).expect(200);
      expect(enrol.body.otpauthUrl).toMatch(/^otpauth:\/\/totp\/Hotline:.+secret=[A-Z2-7]+.*/);
      expect(enrol.body.qrDataUrl).toMatch(/^data:image\/png;base64,/);
      // A wrong code does not enrol.
      await f.http().post('/auth/factor').send({ challenge: first.body.challenge, code: '000000' }).expect(401);
      const now = clock.nowMs();
      const done = await f
        .http()
        .post('/auth/factor')
        .send({ challenge: first.body.challenge, code: totpCode(enrol.body.secret, now) })
        .expect(200);
      expect(done.body.accessToken).toEqual(expect.any(String));
      expect(done.body.recoveryCodes).toHaveLength(10);
      const [stored] = await f.db.query('SELECT totp_secret FROM staff WHERE id = ?', [sup.id]);
      expect(stored.totp_secret).toMatch(/^sealed:v1:/); // sealed under MASTER_KEY, never the secret itself
      expect(stored.totp_secret).not.toContain(enrol.body.secret);
      const [[row]] = [await f.db.query('SELECT code_hash FROM staff_recovery_codes WHERE staff_id = ? LIMIT 1', [sup.id])];
      expect(done.body.recoveryCodes).not.toContain(row.code_hash); // hashed, not stored as given

      const second = await login(sup).expect(200);
      expect(second.body.factorRequired).toBe('totp');
      // The code used to enrol is spent: the same code again is refused (replay).
      await f
        .http()
        .post('/auth/factor')
        .send({ challenge: second.body.challenge, code: totpCode(enrol.body.secret, now) })
        .expect(401);
      const next = await f
        .http()
        .post('/auth/factor')
        .send({ challenge: second.body.challenge, code: totpCode(enrol.body.secret, now + 30000) })
        .expect(200);
      expect(next.body.user.id).toBe(sup.id);
    });

    it('a recovery code signs in once only', async () => {
      const aud: Enrolled = await f.staff('auditor');
      await signIn(f, aud, { address: address() });
      const code = aud.recoveryCodes![0];
      const a = await login(aud).expect(200);
      const ok = await f.http().post('/auth/factor').send({ challenge: a.body.challenge, code }).expect(200);
      expect(ok.body.recoveryCodesLeft).toBe(9);
      const b = await login(aud).expect(200);
      await f.http().post('/auth/factor').send({ challenge: b.body.challenge, code }).expect(401);
    });

    it('wrong codes are throttled like passwords, counted for the account holder and audited', async () => {
      const ro: Enrolled = await f.staff('records_officer');
      await signIn(f, ro, { address: address() });
      const from = address();
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const c = await login(ro, from).expect(200);
        const r = await f.http().post('/auth/factor').set('X-Forwarded-For', from).send({ challenge: c.body.challenge, code: '123456' });
        statuses.push(r.status);
      }
      expect(statuses.slice(0, 5).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(5)).toContain(429);
      const failed = await f.count('audit_log', "action = 'auth.factor_failed' AND target_id = ?", [ro.id]);
      expect(failed).toBeGreaterThanOrEqual(6);
      // The account holder is told at their next sign-in (from another address: that one is slowed now).
      const back = await signIn(f, ro, { address: address() });
      expect(back.body.failedAttemptsSince).toBeGreaterThanOrEqual(6);
    });

    it('an admin resets a member’s factor: their sessions end and they enrol again', async () => {
      const sup: Enrolled = await f.staff('supervisor');
      await signIn(f, sup, { address: address() });
      const before = sup.token;
      await f.http().post(`/users/${sup.id}/factor-reset`).set(bearer(admin)).expect(204);
      await f
        .http()
        .get('/auth/me')
        .set(bearer({ token: before }))
        .expect(401);
      expect((await login(sup).expect(200)).body.factorRequired).toBe('enrol');
      expect(await f.count('audit_log', "action = 'staff.factor_reset' AND target_id = ?", [sup.id])).toBe(1);
    });
  });

  describe('confidentiality agreement', () => {
    it('a member who has not accepted the current version gets nothing but the agreement, over HTTP and sockets', async () => {
      const op: Enrolled = await f.staff('operator');
      const res = await login(op).expect(200);
      op.token = res.body.accessToken;
      const refused = await f.http().get('/calls').set(bearer(op)).expect(403);
      expect(refused.body.error).toBe('agreement_required');
      await expect(connectConsole(gateway.base, '/operator', op.token)).rejects.toThrow('agreement_required');

      const current = await f.http().get('/agreements/current').set(bearer(op)).expect(200);
      expect(current.body).toMatchObject({ version: '1', acceptedAt: null });
      expect(current.body.text).toContain('Confidentiality agreement');
      const accepted = await f.http().post('/agreements/1/accept').set(bearer(op)).expect(200);
      expect(accepted.body).toEqual({ version: '1', acceptedAt: expect.any(String) });
      expect(await f.count('audit_log', "action = 'agreement.accepted' AND actor_id = ?", [op.id])).toBe(1);

      await f.http().get('/calls').set(bearer(op)).expect(200);
      const socket = await connectConsole(gateway.base, '/operator', op.token);
      socket.close();
    });

    it('a new version is required at the next request; admins and auditors see who accepted which', async () => {
      const op: Enrolled = await f.staff('operator');
      await signIn(f, op, { address: address() });
      await f.http().get('/calls').set(bearer(op)).expect(200);
      writeFileSync(join(agreements, '2.md'), '# Confidentiality agreement (version 2)\n\nAlso: no personal phones in the room.\n');
      try {
        await new Promise((r) => setTimeout(r, 1100)); // the catalogue reads the directory at most once a second
        const refused = await f.http().get('/calls').set(bearer(op)).expect(403);
        expect(refused.body).toMatchObject({ error: 'agreement_required', version: '2' });
        await f.http().post('/agreements/1/accept').set(bearer(op)).expect(409);
        await f.http().post('/agreements/2/accept').set(bearer(op)).expect(200);
        await f.http().get('/calls').set(bearer(op)).expect(200);

        await signIn(f, admin, { address: address() });
        const list = await f.http().get('/agreements/acceptances').set(bearer(admin)).expect(200);
        expect(list.body.currentVersion).toBe('2');
        expect(list.body.items).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ staffId: op.id, version: '1' }),
            expect.objectContaining({ staffId: op.id, version: '2' }),
          ]),
        );
        expect(list.body.pendingStaffIds).not.toContain(op.id);
        await f.http().get('/agreements/acceptances').set(bearer(op)).expect(403);
      } finally {
        rmSync(join(agreements, '2.md'));
        await new Promise((r) => setTimeout(r, 1100));
      }
    });
  });

  describe('passwords', () => {
    it('a member changes their password: length, breach list and strength checked; every session ends; the new one works', async () => {
      const op: Enrolled = await f.staff('operator');
      await signIn(f, op, { address: address() });
      const other = await signIn(f, { ...op }, { address: address() });
      const change = (body: object) => f.http().post('/auth/password').set(bearer(op)).send(body);
      expect(
        (await change({ currentPassword: 'wrong-password-here', newPassword: 'plum orbit ladder quietly' }).expect(400)).body.fields,
      ).toEqual(['currentPassword']);
      expect((await change({ currentPassword: op.password, newPassword: 'short' }).expect(400)).body.message).toMatch(/at least 12/);
      expect((await change({ currentPassword: op.password, newPassword: 'qwerty123456' }).expect(400)).body.message).toMatch(/breached/);
      expect((await change({ currentPassword: op.password, newPassword: 'aaaaaaaaaaaaaa' }).expect(400)).body.message).toMatch(
        /easy to guess/,
      );
      const ok = await change({ currentPassword: op.password, newPassword: 'plum orbit ladder quietly' }).expect(200);
      await f.http().get('/auth/me').set(bearer(op)).expect(401);
      await f
        .http()
        .get('/auth/me')
        .set(bearer({ token: other.token }))
        .expect(401);
      await f
        .http()
        .get('/auth/me')
        .set(bearer({ token: ok.body.accessToken }))
        .expect(200);
      await login({ ...op, password: 'plum orbit ladder quietly' }).expect(200);
      await login(op).expect(401);
      const [row] = await f.db.query('SELECT password_hash FROM staff WHERE id = ?', [op.id]);
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
    });

    it('wrong current passwords are slowed like sign-ins (429, the session kept), and audited', async () => {
      const op: Enrolled = await f.staff('operator');
      await signIn(f, op, { address: address() });
      const from = address();
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await f
          .http()
          .post('/auth/password')
          .set('X-Forwarded-For', from)
          .set(bearer(op))
          .send({ currentPassword: `guess-${i}-xxxxxxxx`, newPassword: 'plum orbit ladder quietly' });
        statuses.push(r.status);
      }
      expect(statuses.slice(0, 5)).toEqual([400, 400, 400, 400, 400]);
      expect(statuses.slice(5)).toContain(429);
      await f.http().get('/auth/me').set(bearer(op)).expect(200);
      expect(await f.count('audit_log', "action = 'staff.password_change_failed' AND target_id = ?", [op.id])).toBeGreaterThanOrEqual(5);
    });

    it('an admin reset gives a one-time password that serves nothing but choosing a new one', async () => {
      const op: Enrolled = await f.staff('operator');
      await signIn(f, op, { address: address() });
      const old = op.token;
      const reset = await f.http().post(`/users/${op.id}/password-reset`).set(bearer(admin)).expect(200);
      await f
        .http()
        .get('/auth/me')
        .set(bearer({ token: old }))
        .expect(401);
      await login(op).expect(401);
      const first = await login({ ...op, password: reset.body.oneTimePassword }).expect(200);
      expect(first.body.mustChangePassword).toBe(true);
      const t = { token: first.body.accessToken };
      expect((await f.http().get('/calls').set(bearer(t)).expect(403)).body.error).toBe('password_change_required');
      await expect(connectConsole(gateway.base, '/operator', t.token)).rejects.toThrow('password_change_required');
      const changed = await f
        .http()
        .post('/auth/password')
        .set(bearer(t))
        .send({ currentPassword: reset.body.oneTimePassword, newPassword: 'velvet canyon pocket seventeen' })
        .expect(200);
      await f
        .http()
        .get('/calls')
        .set(bearer({ token: changed.body.accessToken }))
        .expect(200);
      expect(await f.count('audit_log', "action IN ('staff.password_reset', 'staff.password_changed') AND target_id = ?", [op.id])).toBe(2);
      const audit = await f.db.query("SELECT detail FROM audit_log WHERE target_id = ? AND action LIKE 'staff.password%'", [op.id]);
      expect(JSON.stringify(audit)).not.toContain(reset.body.oneTimePassword);
    });
  });

  describe('sessions', () => {
    it.each([
      ['password_reset', (id: string) => f.http().post(`/users/${id}/password-reset`).set(bearer(admin)).expect(200)],
      ['factor_reset', (id: string) => f.http().post(`/users/${id}/factor-reset`).set(bearer(admin)).expect(204)],
      ['deactivated', (id: string) => f.http().patch(`/users/${id}`).set(bearer(admin)).send({ active: false }).expect(200)],
    ] as const)('%s closes the member’s consoles on both gateway nodes within a second, told why', async (reason, act) => {
      const sup: Enrolled = await f.staff('supervisor');
      await signIn(f, sup, { address: address() });
      const consoles = await Promise.all([gateway, second].map((g) => connectConsole(g.base, '/supervisor', sup.token)));
      const closed = consoles.map((c) => new Promise<number>((resolve) => c.socket.once('disconnect', () => resolve(Date.now()))));
      const at = Date.now();
      await act(sup.id);
      for (const c of consoles) expect((await c.next('session:ended', () => true, { timeoutMs: 1000 })).reason).toBe(reason);
      for (const t of await Promise.all(closed)) expect(t - at).toBeLessThan(1000);
      await f.http().get('/auth/me').set(bearer(sup)).expect(401);
    });

    it('a member sees their active sessions and ends one; another member’s session cannot be ended', async () => {
      const op: Enrolled = await f.staff('operator');
      const a = await signIn(f, { ...op }, { address: address() });
      const b = await signIn(f, { ...op }, { address: address() });
      const list = await f
        .http()
        .get('/auth/sessions')
        .set(bearer({ token: a.token }))
        .expect(200);
      expect(list.body.items).toHaveLength(2);
      expect(list.body.items.filter((s: any) => s.current)).toHaveLength(1);
      const other = list.body.items.find((s: any) => !s.current);
      await f.http().delete(`/auth/sessions/${other.sid}`).set(bearer(admin)).expect(404);
      await f
        .http()
        .delete(`/auth/sessions/${other.sid}`)
        .set(bearer({ token: a.token }))
        .expect(204);
      await f
        .http()
        .get('/auth/me')
        .set(bearer({ token: b.token }))
        .expect(401);
      expect(
        (
          await f
            .http()
            .get('/auth/sessions')
            .set(bearer({ token: a.token }))
            .expect(200)
        ).body.items,
      ).toHaveLength(1);
    });

    it('the server ends a session idle for SESSION_IDLE_SECONDS (time moved, not waited for)', async () => {
      const op: Enrolled = await f.staff('operator');
      const s = await signIn(f, op, { address: address() });
      clock.advance(29 * 60 * 1000);
      await f.http().get('/auth/me').set(bearer(s)).expect(200);
      clock.advance(29 * 60 * 1000);
      await f.http().get('/auth/me').set(bearer(s)).expect(200); // each request restarts the count
      clock.advance(31 * 60 * 1000);
      const idle = await f.http().get('/auth/me').set(bearer(s)).expect(401);
      expect(idle.body.message).toMatch(/idle/);
    });
  });
});
