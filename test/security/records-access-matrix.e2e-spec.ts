import { Controller, Get, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { randomBytes, randomUUID } from 'crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AccessGuard, TokenModule } from '@hotline/auth';
import { HotlineConfigModule } from '@hotline/config';
import { RedisModule } from '@hotline/observability';
import { ROLES, type Role } from '@hotline/contract';
import { envFor } from '../support/env-for';
import { Factory, TestStaff, bearer } from '../support/factories';
import { fromOpenApiPath, routeTable } from './support/routes';
import { recordsFingerprint } from './support/state';
import { withRecordsApp } from '../support/records-app';
import { insertCallback, setCallFields } from '@hotline/calls/fixtures';

/**
 * OWASP API1 (broken object level authorisation) and API5 (function level authorisation) over the
 * records app: every route of Nest's route table must carry an access rule (@Public or @Roles), and
 * each route is tried by each kind of caller against the table below, written from DESIGN.md
 * ("Records HTTP"). A route that is served but has no row here fails the suite: add its row.
 * Every refused request must leave the records database exactly as it was.
 */
type Actor = 'owner' | 'otherOperator' | 'supervisorWithReason' | 'supervisor' | 'records_officer' | 'auditor' | 'admin' | 'anonymous';
const ACTORS: Actor[] = [
  'owner',
  'otherOperator',
  'supervisorWithReason',
  'supervisor',
  'records_officer',
  'auditor',
  'admin',
  'anonymous',
];

interface Ctx {
  f: Factory;
  staff: Record<Exclude<Actor, 'anonymous'>, TestStaff>;
  /** A call answered by `owner`, fresh for each request. */
  call(): Promise<string>;
}
interface Prepared {
  path: string;
  body?: object;
  /** A token to send instead of the actor's own (a route that ends the session it is called with). */
  token?: string;
}
interface Row {
  /** Expected status by actor; `anonymous` defaults to 401 unless the route is public. */
  expect: Partial<Record<Actor, number>>;
  /** Status for actors not named. */
  otherwise: number;
  prepare(ctx: Ctx, actor: Actor): Promise<Prepared>;
}

/** The role each kind of caller has. */
const ROLE_OF: Record<Exclude<Actor, 'anonymous'>, Role> = {
  owner: 'operator',
  otherOperator: 'operator',
  supervisorWithReason: 'supervisor',
  supervisor: 'supervisor',
  records_officer: 'records_officer',
  auditor: 'auditor',
  admin: 'admin',
};

const reasonHeader = 'Caller safety review, shift lead request';

const ACCESS: Record<string, Row> = {
  'POST /auth/login': {
    expect: {},
    otherwise: 200,
    async prepare({ f }) {
      const s = await f.staff('operator');
      return { path: '/auth/login', body: { username: s.username, password: s.password } };
    },
  },
  'GET /auth/me': { expect: { anonymous: 401 }, otherwise: 200, prepare: async () => ({ path: '/auth/me' }) },
  // Signing out ends the session it is called with: each caller signs out a fresh session of their role.
  'POST /auth/logout': {
    expect: { anonymous: 401 },
    otherwise: 204,
    prepare: async ({ f }, actor) => ({
      path: '/auth/logout',
      token: actor === 'anonymous' ? undefined : (await f.staff(ROLE_OF[actor])).token,
    }),
  },
  // Issue 16. A challenge that was never issued is refused the same for everyone (and writes nothing).
  'POST /auth/factor/enrol': {
    expect: {},
    otherwise: 401,
    prepare: async () => ({ path: '/auth/factor/enrol', body: { challenge: 'never-issued' } }),
  },
  'POST /auth/factor': {
    expect: {},
    otherwise: 401,
    prepare: async () => ({ path: '/auth/factor', body: { challenge: 'never-issued', code: '123456' } }),
  },
  'POST /auth/factor/passkey/options': {
    expect: {},
    otherwise: 401,
    prepare: async () => ({ path: '/auth/factor/passkey/options', body: { challenge: 'never-issued' } }),
  },
  'POST /auth/factor/passkey': {
    expect: {},
    otherwise: 401,
    prepare: async () => ({ path: '/auth/factor/passkey', body: { challenge: 'never-issued', response: { id: 'x' } } }),
  },
  'GET /auth/passkeys': { expect: { anonymous: 401 }, otherwise: 200, prepare: async () => ({ path: '/auth/passkeys' }) },
  // Issue 24: adding a passkey needs a fresh proof of password and factor (step-up); a minted token has none.
  'POST /auth/passkeys/options': { expect: { anonymous: 401 }, otherwise: 403, prepare: async () => ({ path: '/auth/passkeys/options' }) },
  // No options were asked for with these (fresh) accounts: refused, nothing stored.
  'POST /auth/passkeys': {
    expect: { anonymous: 401 },
    otherwise: 400,
    prepare: async ({ f }, actor) => ({
      path: '/auth/passkeys',
      token: actor === 'anonymous' ? undefined : (await f.staff(ROLE_OF[actor])).token,
      body: { response: { id: 'x', rawId: 'x', type: 'public-key', response: {} } },
    }),
  },
  // Each caller changes the password of a fresh account of their role (it ends that account's sessions).
  'POST /auth/password': {
    expect: { anonymous: 401 },
    otherwise: 200,
    async prepare({ f }, actor) {
      const s = await f.staff(actor === 'anonymous' ? 'operator' : ROLE_OF[actor]);
      return {
        path: '/auth/password',
        token: actor === 'anonymous' ? undefined : s.token,
        body: { currentPassword: s.password, newPassword: 'plum orbit ladder quietly' },
      };
    },
  },
  'GET /auth/sessions': { expect: { anonymous: 401 }, otherwise: 200, prepare: async () => ({ path: '/auth/sessions' }) },
  // Issue 24: the server's idle lock and step-up. Locking locks the session it is called with: each caller locks a fresh one.
  'POST /auth/lock': {
    expect: { anonymous: 401 },
    otherwise: 204,
    prepare: async ({ f }, actor) => ({
      path: '/auth/lock',
      token: actor === 'anonymous' ? undefined : (await f.staff(ROLE_OF[actor])).token,
    }),
  },
  // Each caller unlocks (or steps up) a fresh session of their role with its own password.
  'POST /auth/unlock': {
    expect: { anonymous: 401 },
    otherwise: 200,
    async prepare({ f }, actor) {
      const s = await f.staff(actor === 'anonymous' ? 'operator' : ROLE_OF[actor]);
      return { path: '/auth/unlock', token: actor === 'anonymous' ? undefined : s.token, body: { password: s.password } };
    },
  },
  'POST /auth/step-up': {
    expect: { anonymous: 401 },
    otherwise: 200,
    async prepare({ f }, actor) {
      const s = await f.staff(actor === 'anonymous' ? 'operator' : ROLE_OF[actor]);
      return { path: '/auth/step-up', token: actor === 'anonymous' ? undefined : s.token, body: { password: s.password } };
    },
  },
  // These accounts have no passkey: 400 for everyone signed in, nothing written.
  'POST /auth/reauth/passkey-options': {
    expect: { anonymous: 401 },
    otherwise: 400,
    prepare: async () => ({ path: '/auth/reauth/passkey-options' }),
  },
  'GET /auth/session': { expect: { anonymous: 401 }, otherwise: 200, prepare: async () => ({ path: '/auth/session' }) },
  'DELETE /auth/sessions/:sid': {
    expect: { anonymous: 401 },
    otherwise: 404,
    prepare: async () => ({ path: `/auth/sessions/${randomBytes(18).toString('base64url')}` }),
  },
  // The matrix runs with no agreement published (the staff suites publish one): 404 for everyone signed in.
  'GET /agreements/current': { expect: { anonymous: 401 }, otherwise: 404, prepare: async () => ({ path: '/agreements/current' }) },
  'POST /agreements/:version/accept': {
    expect: { anonymous: 401 },
    otherwise: 404,
    prepare: async () => ({ path: '/agreements/1/accept' }),
  },
  'GET /agreements/acceptances': {
    expect: { admin: 200, auditor: 200 },
    otherwise: 403,
    prepare: async () => ({ path: '/agreements/acceptances' }),
  },
  'GET /users': { expect: { admin: 200 }, otherwise: 403, prepare: async () => ({ path: '/users' }) },
  'POST /users/:id/password-reset': {
    expect: { admin: 200 },
    otherwise: 403,
    prepare: async ({ f }) => ({ path: `/users/${(await f.staff('operator')).id}/password-reset` }),
  },
  'POST /users/:id/factor-reset': {
    expect: { admin: 204 },
    otherwise: 403,
    prepare: async ({ f }) => ({ path: `/users/${(await f.staff('supervisor')).id}/factor-reset` }),
  },
  'GET /handovers/operators': {
    expect: { supervisorWithReason: 200, supervisor: 200 },
    otherwise: 403,
    prepare: async () => ({ path: '/handovers/operators' }),
  },
  'GET /handovers/operators/:id/calls': {
    expect: { supervisorWithReason: 200, supervisor: 200 },
    otherwise: 403,
    prepare: async ({ f }) => ({ path: `/handovers/operators/${(await f.staff('operator')).id}/calls` }),
  },
  'POST /handovers': {
    expect: { supervisorWithReason: 201, supervisor: 201 },
    otherwise: 403,
    prepare: async ({ f }) => ({
      path: '/handovers',
      body: {
        fromOperatorId: (await f.staff('operator')).id,
        toOperatorId: (await f.staff('operator')).id,
        reason: 'Leaves the service, matrix case',
      },
    }),
  },
  'PATCH /users/:id': {
    expect: { admin: 200 },
    otherwise: 403,
    prepare: async ({ f }) => ({ path: `/users/${(await f.staff('operator')).id}`, body: { displayName: 'Renamed by matrix' } }),
  },
  'POST /users': {
    expect: { admin: 201 },
    otherwise: 403,
    prepare: async () => ({
      path: '/users',
      body: {
        username: `made-${randomBytes(4).toString('hex')}`,
        password: 'a-long-enough-password',
        role: 'operator',
        displayName: 'Made by matrix',
      },
    }),
  },
  'GET /calls': {
    expect: { owner: 200, otherOperator: 200, supervisorWithReason: 200, supervisor: 200 },
    otherwise: 403,
    async prepare(c) {
      await c.call();
      return { path: '/calls?limit=100' };
    },
  },
  'GET /calls/:callId': {
    expect: { owner: 200, otherOperator: 404, supervisorWithReason: 200, supervisor: 403 },
    otherwise: 403,
    prepare: async (c) => ({ path: `/calls/${await c.call()}` }),
  },
  'POST /calls/:callId/notes': {
    expect: { owner: 201, otherOperator: 404 },
    otherwise: 403,
    prepare: async (c) => ({ path: `/calls/${await c.call()}/notes`, body: { text: 'Matrix note: caller wanted to talk about work' } }),
  },
  'PUT /calls/:callId/assessment': {
    expect: { owner: 200, otherOperator: 404 },
    otherwise: 403,
    prepare: async (c) => ({ path: `/calls/${await c.call()}/assessment`, body: { riskLevel: 'high' } }),
  },
  'POST /calls/:callId/escalations': {
    expect: { owner: 201, otherOperator: 404 },
    otherwise: 403,
    prepare: async (c) => ({ path: `/calls/${await c.call()}/escalations`, body: escalationBody }),
  },
  'GET /calls/:callId/escalations': {
    expect: { supervisorWithReason: 200, supervisor: 200 },
    otherwise: 403,
    prepare: async (c) => ({ path: `/calls/${await c.call()}/escalations` }),
  },
  'POST /calls/:callId/escalations/:id/cosign': {
    expect: { supervisorWithReason: 201, supervisor: 201 },
    otherwise: 403,
    async prepare(c) {
      const callId = await c.call();
      const e = await c.f.http().post(`/calls/${callId}/escalations`).set(bearer(c.staff.owner)).send(escalationBody).expect(201);
      return { path: `/calls/${callId}/escalations/${e.body.id}/cosign` };
    },
  },
  // Issue 15. Every operator sees the callbacks due (any may call back); the wallboard's counts are supervisors'.
  'GET /callbacks': { expect: { owner: 200, otherOperator: 200 }, otherwise: 403, prepare: async () => ({ path: '/callbacks' }) },
  'GET /callbacks/summary': {
    expect: { supervisorWithReason: 200, supervisor: 200 },
    otherwise: 403,
    prepare: async () => ({ path: '/callbacks/summary' }),
  },
  // A callback not due yet: operators get 409 (not due; the call placed through Twilio is tested in
  // test/e2e/overflow-callbacks), every other role 403; none writes anything.
  'POST /callbacks/:id/dial': {
    expect: { owner: 409, otherOperator: 409 },
    otherwise: 403,
    async prepare(c) {
      const callId = await c.call();
      const id = randomUUID();
      await insertCallback(c.f.db, {
        id,
        callId,
        kind: 'callback',
        status: 'open',
        dueAt: new Date(Date.now() + 86_400_000),
        maxAttempts: 3,
      });
      return { path: `/callbacks/${id}/dial` };
    },
  },
  // Without the caller's consent in the body nothing is scheduled (the schedule itself, with Twilio, is in test/e2e/overflow-callbacks).
  'POST /calls/:callId/followups': {
    expect: { owner: 400, otherOperator: 400 },
    otherwise: 403,
    prepare: async (c) => ({ path: `/calls/${await c.call()}/followups`, body: { consent: false } }),
  },
  // A call not assessed imminent: its operator gets 409, another operator 404, other roles 403.
  'POST /calls/:callId/rescue-requests': {
    expect: { owner: 409, otherOperator: 404 },
    otherwise: 403,
    prepare: async (c) => ({ path: `/calls/${await c.call()}/rescue-requests`, body: { reason: 'caller has means and a plan' } }),
  },
  // Approving is for supervisors; on a call that has ended there is nothing to read (409, Twilio not asked).
  'POST /calls/:callId/rescue-requests/:id/approve': {
    expect: { supervisorWithReason: 409, supervisor: 409 },
    otherwise: 403,
    async prepare(c) {
      const { callId, id } = await rescueRequest(c);
      await setCallFields(c.f.db, callId, { status: 'completed', endedAt: new Date() });
      return { path: `/calls/${callId}/rescue-requests/${id}/approve`, body: { reason: 'confirmed, dispatch' } };
    },
  },
  'GET /calls/:callId/rescue-requests/:id': {
    expect: { owner: 200, otherOperator: 404, supervisorWithReason: 200, supervisor: 200 },
    otherwise: 403,
    async prepare(c) {
      const { callId, id } = await rescueRequest(c);
      return { path: `/calls/${callId}/rescue-requests/${id}` };
    },
  },
  'POST /calls/:callId/legal-hold': {
    expect: { records_officer: 201 },
    otherwise: 403,
    prepare: async (c) => ({ path: `/calls/${await c.call()}/legal-hold`, body: { reason: 'Preservation order, matrix case' } }),
  },
  'DELETE /calls/:callId/legal-hold': {
    expect: { records_officer: 204 },
    otherwise: 403,
    async prepare(c) {
      const callId = await c.call();
      await c.f
        .http()
        .post(`/calls/${callId}/legal-hold`)
        .set(bearer(c.staff.records_officer))
        .send({ reason: 'Preservation order' })
        .expect(201);
      return { path: `/calls/${callId}/legal-hold` };
    },
  },
  'GET /retention/report': {
    expect: { records_officer: 200, auditor: 200 },
    otherwise: 403,
    prepare: async () => ({ path: '/retention/report' }),
  },
  'GET /audit/verify': { expect: { auditor: 200 }, otherwise: 403, prepare: async () => ({ path: '/audit/verify' }) },
  'GET /deletion-requests': { expect: { records_officer: 200 }, otherwise: 403, prepare: async () => ({ path: '/deletion-requests' }) },
  'GET /deletion-requests/:id': {
    expect: { records_officer: 404 },
    otherwise: 403,
    prepare: async () => ({ path: `/deletion-requests/${randomUUID()}` }),
  },
  // Oversight (issue 17).
  'GET /audit/entries': {
    expect: { auditor: 200 },
    otherwise: 403,
    prepare: async () => ({ path: '/audit/entries?action=call.*&limit=5' }),
  },
  'GET /audit/entries/csv': {
    expect: { auditor: 200 },
    otherwise: 403,
    prepare: async () => ({ path: '/audit/entries/csv?action=call.read' }),
  },
  'GET /audit/access-report': {
    expect: { auditor: 200 },
    otherwise: 403,
    prepare: async (c) => ({ path: `/audit/access-report?callId=${await c.call()}` }),
  },
  'GET /audit/access-report/csv': {
    expect: { auditor: 200 },
    otherwise: 403,
    prepare: async (c) => ({
      path: `/audit/access-report/csv?staffId=${c.staff.owner.id}&from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z`,
    }),
  },
  'GET /stats/hourly': {
    expect: { supervisorWithReason: 200, supervisor: 200 },
    otherwise: 403,
    prepare: async () => ({ path: '/stats/hourly?by=day' }),
  },
  'GET /stats/hourly/csv': {
    expect: { supervisorWithReason: 200, supervisor: 200 },
    otherwise: 403,
    prepare: async () => ({ path: '/stats/hourly/csv' }),
  },
  'POST /complaints': {
    expect: { supervisorWithReason: 201, supervisor: 201, records_officer: 201 },
    otherwise: 403,
    prepare: async () => ({ path: '/complaints', body: complaintBody }),
  },
  'GET /complaints': {
    expect: { supervisorWithReason: 200, supervisor: 200, records_officer: 200 },
    otherwise: 403,
    prepare: async () => ({ path: '/complaints' }),
  },
  'GET /complaints/:id': {
    expect: { supervisorWithReason: 200, supervisor: 200, records_officer: 200 },
    otherwise: 403,
    prepare: async (c) => ({ path: `/complaints/${await complaint(c)}` }),
  },
  'PATCH /complaints/:id': {
    expect: { supervisorWithReason: 200, supervisor: 200, records_officer: 200 },
    otherwise: 403,
    prepare: async (c) => ({ path: `/complaints/${await complaint(c)}`, body: { status: 'investigating' } }),
  },
  'GET /research/export': { expect: { records_officer: 200 }, otherwise: 403, prepare: async () => ({ path: '/research/export' }) },
  'GET /research/export/csv': { expect: { records_officer: 200 }, otherwise: 403, prepare: async () => ({ path: '/research/export/csv' }) },
  'GET /legal-holds': { expect: { records_officer: 200 }, otherwise: 403, prepare: async () => ({ path: '/legal-holds' }) },
  'GET /deletion-certificates': {
    expect: { records_officer: 200, auditor: 200 },
    otherwise: 403,
    prepare: async () => ({ path: '/deletion-certificates?limit=5' }),
  },
  'GET /health': { expect: {}, otherwise: 200, prepare: async () => ({ path: '/health' }) },
  // Every actor here calls from 203.0.113.x, outside INTERNAL_NETWORKS: /metrics does not exist for them (gateway-surface tests the inside).
  'GET /metrics': { expect: {}, otherwise: 404, prepare: async () => ({ path: '/metrics' }) },
};

/** Routes of the contract (DESIGN.md) that another issue is still building: tested once served. */
const CONTRACT_ROUTES_PENDING = ['GET /deletion-requests', 'GET /deletion-requests/:id'];

/** A rescue request by `owner` on a fresh call of theirs assessed imminent. */
async function rescueRequest(c: Ctx): Promise<{ callId: string; id: string }> {
  const callId = await c.call();
  await c.f.http().put(`/calls/${callId}/assessment`).set(bearer(c.staff.owner)).send({ riskLevel: 'imminent' }).expect(200);
  const r = await c.f
    .http()
    .post(`/calls/${callId}/rescue-requests`)
    .set(bearer(c.staff.owner))
    .send({ reason: 'caller has means and a plan' })
    .expect(201);
  return { callId, id: r.body.id };
}

const complaintBody = { receivedVia: 'email', category: 'service', text: 'Matrix complaint: the line was busy for an hour' };

/** A complaint recorded by the records officer, fresh for each request. */
async function complaint(c: Ctx): Promise<string> {
  const res = await c.f.http().post('/complaints').set(bearer(c.staff.records_officer)).send(complaintBody).expect(201);
  return res.body.id;
}

const escalationBody = {
  disclosedTo: 'Ambulance service, control room',
  legalBasis: 'Vital interests',
  fieldsDisclosed: ['caller_location'],
};

function expected(row: Row, actor: Actor, isPublic: boolean): number {
  return row.expect[actor] ?? (actor === 'anonymous' && !isPublic ? 401 : row.otherwise);
}

describe('records access matrix (OWASP API1, API5)', () => {
  const records = withRecordsApp();
  const { f } = records;
  let db: DataSource;
  let ctx: Ctx;
  let served: Map<string, ReturnType<typeof routeTable>[number]>;

  beforeAll(async () => {
    db = f.db;
    const staff = {
      owner: await f.staff('operator'),
      otherOperator: await f.staff('operator'),
      supervisorWithReason: await f.staff('supervisor'),
      supervisor: await f.staff('supervisor'),
      records_officer: await f.staff('records_officer'),
      auditor: await f.staff('auditor'),
      admin: await f.staff('admin'),
    };
    ctx = { f, staff, call: () => f.call({ operator: staff.owner }) };
    served = new Map(routeTable(records.app).map((r) => [r.key, r]));
  });

  function send(actor: Actor, method: string, p: Prepared) {
    let req = (f.http() as any)[method.toLowerCase()](p.path).set('X-Forwarded-For', `203.0.113.${(ACTORS.indexOf(actor) % 250) + 1}`);
    if (p.token) req = req.set('Authorization', `Bearer ${p.token}`);
    else if (actor !== 'anonymous') req = req.set(bearer(ctx.staff[actor]));
    if (actor === 'supervisorWithReason') req = req.set('X-Access-Reason', reasonHeader);
    return p.body ? req.send(p.body) : req;
  }

  it('gives every served route an access rule: @Public, or @Roles naming real roles', () => {
    const bare = [...served.values()].filter(
      (r) => !r.public && !(r.roles && r.roles.length && r.roles.every((x) => (ROLES as readonly string[]).includes(x))),
    );
    expect(bare.map((r) => `${r.key} (${r.controller}.${r.handler})`)).toEqual([]);
  });

  it('has a row in the access table for every served route (a new route must say who may use it)', () => {
    expect([...served.keys()].filter((k) => !ACCESS[k])).toEqual([]);
  });

  it('documents every served API route in the OpenAPI page, and nothing that is not served', async () => {
    const doc = (await f.http().get('/docs/json').expect(200)).body;
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${fromOpenApiPath(p)}`),
    );
    expect(documented.filter((k) => !served.has(k))).toEqual([]);
  });

  it('denies by default: a route with neither @Public nor @Roles is refused even with a valid token', async () => {
    @Controller('bare')
    class BareController {
      @Get()
      get() {
        return { leaked: true };
      }
    }
    const env = envFor();
    @Module({
      imports: [HotlineConfigModule.forRoot(env), RedisModule.forRoot(), TokenModule],
      controllers: [BareController],
      providers: [{ provide: APP_GUARD, useClass: AccessGuard }],
    })
    class BareModule {}
    const bare = (await Test.createTestingModule({ imports: [BareModule] }).compile()).createNestApplication({ logger: false });
    await bare.init();
    try {
      expect((await request(bare.getHttpServer()).get('/bare')).status).toBe(401);
      for (const role of ROLES)
        expect([
          role,
          (
            await request(bare.getHttpServer())
              .get('/bare')
              .set(bearer(await f.staff(role)))
          ).status,
        ]).toEqual([role, 403]);
    } finally {
      await bare.close();
    }
  });

  describe.each(Object.keys(ACCESS))('%s', (key) => {
    it('answers each kind of caller as the table says, and a refusal writes nothing', async () => {
      const route = served.get(key);
      if (!route) {
        expect(CONTRACT_ROUTES_PENDING).toContain(key);
        return;
      }
      const row = ACCESS[key];
      const wrong: string[] = [];
      for (const actor of ACTORS) {
        const prepared = await row.prepare(ctx, actor);
        const before = await recordsFingerprint(db);
        const res = await send(actor, route.method, prepared);
        const want = expected(row, actor, route.public);
        if (res.status !== want) wrong.push(`${actor}: ${res.status} (expected ${want}) ${JSON.stringify(res.body).slice(0, 160)}`);
        if (res.status >= 400 && key !== 'POST /auth/login') {
          const after = await recordsFingerprint(db);
          if (JSON.stringify(after) !== JSON.stringify(before))
            wrong.push(`${actor}: refused with ${res.status} but wrote ${diff(before, after)}`);
        }
        if (res.status >= 400 && res.headers['content-type']?.includes('json')) {
          if (!res.body.correlationId || /\bat .+\.(ts|js):\d+/.test(res.text))
            wrong.push(`${actor}: error without correlation id, or with a stack trace`);
        }
      }
      expect(wrong).toEqual([]);
    });
  });

  describe('object ownership (BOLA)', () => {
    it('answers another operator exactly as for a call that does not exist, on every call route', async () => {
      const { owner, otherOperator } = ctx.staff;
      const callId = await ctx.call();
      const missing = randomUUID();
      const probes: [string, string, object | undefined][] = [
        ['GET', '', undefined],
        ['POST', '/notes', { text: 'Probe note written by another operator' }],
        ['PUT', '/assessment', { riskLevel: 'none' }],
        ['POST', '/escalations', escalationBody],
      ];
      for (const [method, suffix, body] of probes) {
        const theirs = await send('otherOperator', method, { path: `/calls/${callId}${suffix}`, body });
        const none = await send('otherOperator', method, { path: `/calls/${missing}${suffix}`, body });
        expect([method + suffix, theirs.status, theirs.body.message]).toEqual([method + suffix, none.status, none.body.message]);
        expect(theirs.status).toBe(404);
      }
      // The owner's view is whole: nothing from the probes landed on the call.
      const mine = await f.http().get(`/calls/${callId}`).set(bearer(owner)).expect(200);
      expect(mine.body.notes).toEqual([]);
      expect(mine.body.escalations).toEqual([]);
      expect(mine.body.assessment.history).toEqual([]);
      expect(otherOperator.id).not.toBe(owner.id);
    });

    it('lists to an operator only the calls they handled; to a supervisor all of them', async () => {
      const { owner, otherOperator, supervisor } = ctx.staff;
      const mine = await ctx.call();
      const theirs = await f.call({ operator: otherOperator });
      const unanswered = await f.call();
      const ids = async (s: TestStaff) => {
        const out: string[] = [];
        let cursor: string | null = null;
        do {
          const res: request.Response = await f
            .http()
            .get('/calls')
            .query(cursor ? { limit: 100, cursor } : { limit: 100 })
            .set(bearer(s))
            .expect(200);
          out.push(...res.body.items.map((i: { callId: string }) => i.callId));
          cursor = res.body.nextCursor;
        } while (cursor);
        return out;
      };
      const ownerSees = await ids(owner);
      expect(ownerSees).toContain(mine);
      expect(ownerSees).not.toContain(theirs);
      expect(ownerSees).not.toContain(unanswered);
      expect(await ids(supervisor)).toEqual(expect.arrayContaining([mine, theirs, unanswered]));
    });

    it('audits a supervisor’s break-glass read with the reason, and refuses one without a reason unaudited', async () => {
      const callId = await ctx.call();
      const head = await recordsFingerprint(db);
      await send('supervisor', 'GET', { path: `/calls/${callId}` }).expect(403);
      expect(await recordsFingerprint(db)).toEqual(head);
      await send('supervisorWithReason', 'GET', { path: `/calls/${callId}` }).expect(200);
      const [entry] = await db.query("SELECT actor_id, action, detail FROM audit_log WHERE target_id = ? AND action = 'call.break_glass'", [
        callId,
      ]);
      expect(entry.actor_id).toBe(ctx.staff.supervisorWithReason.id);
      expect(JSON.stringify(entry.detail)).toContain(reasonHeader);
    });
  });
});

function diff(a: Record<string, unknown>, b: Record<string, unknown>): string {
  return Object.keys({ ...a, ...b })
    .filter((k) => a[k] !== b[k])
    .map((k) => `${k} ${a[k]} → ${b[k]}`)
    .join(', ');
}
