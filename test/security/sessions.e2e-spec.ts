import { io } from 'socket.io-client';
import { TokenService } from '@hotline/auth';
import type { Role } from '@hotline/contract';
import { envFor } from '../support/env-for';
import { TestStaff, bearer } from '../support/factories';
import { GatewayTestApp, startGatewayApp } from '../support/gateway-app';
import { withRecordsApp } from '../support/records-app';
import { ConsoleClient, connectConsole } from '../support/webhooks';

/**
 * Sessions end when they should: an admin deactivates a member (PATCH /users/:id) or changes their
 * role, a member signs out (POST /auth/logout), a token expires. Their next request is refused by
 * records and their consoles are closed at once on every gateway node (two here), each told why.
 */
describe('sessions', () => {
  const records = withRecordsApp({}, { listen: true });
  const { f } = records;
  const gateways: GatewayTestApp[] = [];
  const clients: ConsoleClient[] = [];
  let admin: TestStaff;

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) gateways.push(await startGatewayApp(envFor({ RECORDS_URL: records.url })));
    admin = await f.staff('admin');
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const g of gateways) await g.app.close();
  });

  /** A console on each gateway node, and a promise for each that settles when the server closes it. */
  async function consolesOf(member: TestStaff, namespace: '/operator' | '/supervisor') {
    const opened = await Promise.all(gateways.map((g) => connectConsole(g.base, namespace, member.token)));
    clients.push(...opened);
    return opened.map((c) => ({
      client: c,
      closed: new Promise<{ reason: string; at: number }>((resolve) =>
        c.socket.once('disconnect', (reason) => resolve({ reason, at: Date.now() })),
      ),
    }));
  }

  const patch = (id: string, body: object) => f.http().patch(`/users/${id}`).set(bearer(admin)).send(body);

  it('a deactivated supervisor’s open sockets on both nodes close within a second, told why, and their next request is refused', async () => {
    const sup = await f.staff('supervisor');
    await f.http().get('/auth/me').set(bearer(sup)).expect(200);
    const consoles = await consolesOf(sup, '/supervisor');
    const res = await patch(sup.id, { active: false });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: sup.id, active: false, sessionsEnded: true });
    const answered = Date.now();
    for (const { client, closed } of consoles) {
      const { reason, at } = await closed;
      expect(reason).toBe('io server disconnect');
      expect(at - answered).toBeLessThan(1000);
      expect(client.of('session:ended')).toEqual([{ reason: 'deactivated' }]);
    }
    expect((await f.http().get('/calls?limit=1').set(bearer(sup))).status).toBe(401);
    await expect(connectConsole(gateways[0].base, '/supervisor', sup.token)).rejects.toThrow(/session has ended/);
    // Signing in is refused while inactive; reactivated, a fresh sign-in works (the old token stays dead).
    expect(
      (await f.http().post('/auth/login').set('X-Forwarded-For', '198.51.100.201').send({ username: sup.username, password: sup.password }))
        .status,
    ).toBe(401);
    expect((await patch(sup.id, { active: true })).body).toMatchObject({ active: true, sessionsEnded: false });
    const again = await f
      .http()
      .post('/auth/login')
      .set('X-Forwarded-For', '198.51.100.201')
      .send({ username: sup.username, password: sup.password })
      .expect(200);
    await f.http().get('/auth/me').set('Authorization', `Bearer ${again.body.accessToken}`).expect(200);
    expect((await f.http().get('/auth/me').set(bearer(sup))).status).toBe(401);
  });

  it('a new role ends the member’s sessions (their token carries the old role)', async () => {
    const op = await f.staff('operator');
    const consoles = await consolesOf(op, '/operator');
    expect((await patch(op.id, { role: 'supervisor' })).body).toMatchObject({ role: 'supervisor', sessionsEnded: true });
    for (const { client, closed } of consoles) {
      await closed;
      expect(client.of('session:ended')).toEqual([{ reason: 'role_changed' }]);
    }
    expect((await f.http().get('/auth/me').set(bearer(op))).status).toBe(401);
  });

  it('signing out ends that session only, everywhere; the member’s other sessions go on', async () => {
    const op = await f.staff('operator');
    const other = await f
      .http()
      .post('/auth/login')
      .set('X-Forwarded-For', '198.51.100.202')
      .send({ username: op.username, password: op.password })
      .expect(200);
    const consoles = await consolesOf(op, '/operator');
    const elsewhere = await connectConsole(gateways[1].base, '/operator', other.body.accessToken);
    clients.push(elsewhere);
    await f.http().post('/auth/logout').set(bearer(op)).expect(204);
    for (const { client, closed } of consoles) {
      await closed;
      expect(client.of('session:ended')).toEqual([{ reason: 'signed_out' }]);
    }
    expect((await f.http().get('/auth/me').set(bearer(op))).status).toBe(401);
    await f.http().get('/auth/me').set('Authorization', `Bearer ${other.body.accessToken}`).expect(200);
    expect(elsewhere.socket.connected).toBe(true);
    const [entry] = await f.db.query("SELECT actor_id FROM audit_log WHERE action = 'auth.logout' ORDER BY seq DESC LIMIT 1");
    expect(entry.actor_id).toBe(op.id);
  });

  it('closes a console when its token expires', async () => {
    const op = await f.staff('operator');
    const shortLived = new TokenService(envFor({ SESSION_TTL_SECONDS: '60' }));
    // A token that expires two seconds from now, signed with records' key as records would.
    const token = (shortLived as any).signWithTtl
      ? ''
      : (await import('jsonwebtoken')).sign(
          { sub: op.id, username: op.username, role: op.role, sid: 'expiring-session', iatMs: Date.now() },
          (shortLived as any).signingKey.key,
          {
            algorithm: 'ES256',
            keyid: (shortLived as any).signingKey.kid,
            expiresIn: 2,
            issuer: 'hotline',
          },
        );
    const client = await connectConsole(gateways[0].base, '/operator', token);
    clients.push(client);
    const closed = await new Promise<string>((resolve) => client.socket.once('disconnect', resolve));
    expect(closed).toBe('io server disconnect');
    expect(client.of('session:ended')).toEqual([{ reason: 'expired' }]);
  });

  it('an admin cannot deactivate themselves; bad bodies and unknown ids are named', async () => {
    expect((await patch(admin.id, { active: false })).status).toBe(400);
    expect((await patch(admin.id, {})).status).toBe(400);
    expect((await patch(admin.id, { active: 'no' })).status).toBe(400);
    expect((await patch(admin.id, { role: 'superuser' })).status).toBe(400);
    expect((await patch('00000000-0000-4000-8000-000000000000', { active: false })).status).toBe(404);
    const op = await f.staff('operator');
    for (const role of ['operator', 'supervisor', 'records_officer', 'auditor'] as Role[]) {
      const someone = await f.staff(role);
      expect([role, (await f.http().patch(`/users/${op.id}`).set(bearer(someone)).send({ active: false })).status]).toEqual([role, 403]);
    }
  });

  it('the default socket.io namespace refuses everyone, signed in or not', async () => {
    for (const auth of [{}, { token: admin.token }]) {
      const socket = io(gateways[0].base, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
      const outcome = await new Promise<string>((resolve) => {
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (e) => resolve(e.message));
      });
      socket.disconnect();
      expect(outcome).toMatch(/forbidden/);
    }
  });
});
