import { TestStaff, bearer } from '../support/factories';
import { withRecordsApp } from '../support/records-app';

/**
 * Need to know, endpoint by endpoint: who gets what. Operator A handled the call; operator B did
 * not. Every refusal must leave the database as it was.
 */
describe('records role matrix', () => {
  const { f } = withRecordsApp();
  let opA: TestStaff, opB: TestStaff, sup: TestStaff, officer: TestStaff, auditor: TestStaff, admin: TestStaff;
  let callA: string;
  let escalationId: string;
  const NOBODY = { token: '' };

  beforeAll(async () => {
    [opA, opB, sup, officer, auditor, admin] = await Promise.all([
      f.staff('operator'),
      f.staff('operator'),
      f.staff('supervisor'),
      f.staff('records_officer'),
      f.staff('auditor'),
      f.staff('admin'),
    ]);
    callA = await f.call({ operator: opA });
    await f.http().post(`/calls/${callA}/notes`).set(bearer(opA)).send({ text: 'only for need to know' }).expect(201);
    escalationId = (
      await f
        .http()
        .post(`/calls/${callA}/escalations`)
        .set(bearer(opA))
        .send({ disclosedTo: 'Ambulance', legalBasis: 'Vital interests', fieldsDisclosed: ['caller_location'] })
        .expect(201)
    ).body.id;
  });

  const send = (who: { token: string }, method: 'get' | 'post' | 'put' | 'delete', path: string, body?: object) => {
    let r = f.http()[method](path);
    if (who.token) r = r.set(bearer(who));
    return body ? r.send(body) : r;
  };
  const tables = ['notes', 'risk_assessments', 'escalations', 'legal_holds', 'audit_log', 'calls', 'staff'];
  const snapshot = async () => Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await f.count(t)])));
  const cosigned = async () => (await f.db.query('SELECT cosigned_by FROM escalations WHERE id = ?', [escalationId]))[0].cosigned_by;

  type Case = [name: string, method: 'get' | 'post' | 'put' | 'delete', path: () => string, body?: object];
  const writes: Case[] = [
    ['POST notes', 'post', () => `/calls/${callA}/notes`, { text: 'intruder note' }],
    ['PUT assessment', 'put', () => `/calls/${callA}/assessment`, { riskLevel: 'low' }],
    [
      'POST escalations',
      'post',
      () => `/calls/${callA}/escalations`,
      { disclosedTo: 'x', legalBasis: 'y', fieldsDisclosed: ['call_time'] },
    ],
    ['POST legal-hold', 'post', () => `/calls/${callA}/legal-hold`, { reason: 'intruder hold' }],
    ['DELETE legal-hold', 'delete', () => `/calls/${callA}/legal-hold`],
    ['POST cosign', 'post', () => `/calls/${callA}/escalations/${escalationId}/cosign`, {}],
    ['GET escalations', 'get', () => `/calls/${callA}/escalations`],
    ['GET call', 'get', () => `/calls/${callA}`],
    ['GET calls', 'get', () => '/calls'],
    ['GET audit/verify', 'get', () => '/audit/verify'],
    ['POST users', 'post', () => '/users', { username: 'intruder-x', password: 'long enough passphrase', role: 'admin', displayName: 'X' }],
  ];
  /** Expected status per route for each caller who must be refused. */
  const refused: Record<string, Record<string, number>> = {
    'POST notes': { opB: 404, sup: 403, officer: 403, auditor: 403, admin: 403, nobody: 401 },
    'PUT assessment': { opB: 404, sup: 403, officer: 403, auditor: 403, admin: 403, nobody: 401 },
    'POST escalations': { opB: 404, sup: 403, officer: 403, auditor: 403, admin: 403, nobody: 401 },
    'POST legal-hold': { opA: 403, opB: 403, sup: 403, auditor: 403, admin: 403, nobody: 401 },
    'DELETE legal-hold': { opA: 403, opB: 403, sup: 403, auditor: 403, admin: 403, nobody: 401 },
    'POST cosign': { opA: 403, opB: 403, officer: 403, auditor: 403, admin: 403, nobody: 401 },
    'GET escalations': { opA: 403, opB: 403, officer: 403, auditor: 403, admin: 403, nobody: 401 },
    'GET call': { opB: 404, sup: 403, officer: 403, auditor: 403, admin: 403, nobody: 401 },
    'GET calls': { officer: 403, auditor: 403, admin: 403, nobody: 401 },
    'GET audit/verify': { opA: 403, opB: 403, sup: 403, officer: 403, admin: 403, nobody: 401 },
    'POST users': { opA: 403, opB: 403, sup: 403, officer: 403, auditor: 403, nobody: 401 },
  };

  // A rest parameter: jest would take a fourth named parameter for a `done` callback.
  it.each(writes)('%s refuses everyone without a need to know, and changes nothing', async (...row) => {
    const [name, method, path, body] = row;
    const who: Record<string, { token: string }> = { opA, opB, sup, officer, auditor, admin, nobody: NOBODY };
    const before = await snapshot();
    const cosignedBefore = await cosigned();
    for (const [key, status] of Object.entries(refused[name])) {
      const res = await send(who[key], method, path(), body);
      expect({ who: key, status: res.status }).toEqual({ who: key, status });
      expect(res.body.correlationId).toEqual(expect.any(String));
      expect(JSON.stringify(res.body)).not.toContain('need to know');
    }
    expect(await snapshot()).toEqual(before);
    expect(await cosigned()).toBe(cosignedBefore);
  });

  it('an operator B gets exactly the answer of a call that does not exist', async () => {
    const strip = (b: any) => ({ ...b, correlationId: undefined });
    const theirs = await f.http().get(`/calls/${callA}`).set(bearer(opB));
    const none = await f.http().get('/calls/6f1c4f7e-2b1d-4c8a-9a53-0c1f2d3e4f50').set(bearer(opB));
    expect(theirs.status).toBe(404);
    expect(strip(theirs.body)).toEqual(strip(none.body));
    const noteTheirs = await f.http().post(`/calls/${callA}/notes`).set(bearer(opB)).send({ text: 'x' });
    const noteNone = await f.http().post('/calls/6f1c4f7e-2b1d-4c8a-9a53-0c1f2d3e4f50/notes').set(bearer(opB)).send({ text: 'x' });
    expect(strip(noteTheirs.body)).toEqual(strip(noteNone.body));
  });

  it('the handling operator reads and writes their call', async () => {
    expect((await f.http().get(`/calls/${callA}`).set(bearer(opA))).status).toBe(200);
    expect((await f.http().post(`/calls/${callA}/notes`).set(bearer(opA)).send({ text: 'follow-up' })).status).toBe(201);
    expect((await f.http().put(`/calls/${callA}/assessment`).set(bearer(opA)).send({ riskLevel: 'high' })).status).toBe(200);
  });

  it('lists an operator’s own calls only and all calls for a supervisor, metadata only, newest first, paged', async () => {
    const older = await f.call({ operator: opB, startedAt: new Date(Date.now() - 3600_000) });
    const newer = await f.call({ operator: opB, startedAt: new Date(Date.now() - 60_000) });
    const mine = await f.http().get('/calls').set(bearer(opB));
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((c: any) => c.callId)).toEqual([newer, older]);
    expect(mine.body.nextCursor).toBeNull();
    expect(mine.body.items[0]).toMatchObject({
      callId: newer,
      startedAt: expect.any(String),
      riskLevel: 'none',
      status: 'connected',
      waitSeconds: 12,
    });
    expect(mine.body.items[0]).not.toHaveProperty('notes');

    const page1 = await f.http().get('/calls?limit=1').set(bearer(opB));
    expect(page1.body.items.map((c: any) => c.callId)).toEqual([newer]);
    const page2 = await f.http().get(`/calls?limit=1&cursor=${page1.body.nextCursor}`).set(bearer(opB));
    expect(page2.body.items.map((c: any) => c.callId)).toEqual([older]);

    // The whole suite shares one database: other files' calls come first, so page to the end.
    const all: any[] = [];
    for (let cursor: string | null = '', pages = 0; cursor !== null; pages++) {
      expect(pages).toBeLessThan(1000);
      const page: { status: number; body: any } = await f
        .http()
        .get(`/calls?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
        .set(bearer(sup));
      expect(page.status).toBe(200);
      expect(JSON.stringify(page.body)).not.toContain('need to know');
      all.push(...page.body.items);
      cursor = page.body.nextCursor;
    }
    const ids = all.map((c) => c.callId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining([callA, newer, older]));
    expect(ids.indexOf(newer)).toBeLessThan(ids.indexOf(older));
    const started = all.map((c) => Date.parse(c.startedAt));
    expect(started).toEqual([...started].sort((a, b) => b - a));
    expect((await f.http().get('/calls?limit=101').set(bearer(sup))).status).toBe(400);
    expect((await f.http().get('/calls?cursor=bm9wZQ').set(bearer(sup))).body.fields).toEqual(['cursor']);
  });

  describe('supervisor break-glass', () => {
    it('is refused without a stated reason, with a message that says a reason is required', async () => {
      const res = await f.http().get(`/calls/${callA}`).set(bearer(sup));
      expect(res.status).toBe(403);
      expect(res.body.message).toMatch(/reason/i);
      expect(res.body.fields).toEqual(['X-Access-Reason']);
      expect((await f.http().get(`/calls/${callA}`).set(bearer(sup)).set('X-Access-Reason', '   ')).status).toBe(403);
      expect((await f.http().get(`/calls/${callA}`).set(bearer(sup)).set('X-Access-Reason', 'x'.repeat(501))).status).toBe(400);
    });

    it('reads the call with a reason, and the audit trail keeps who, what and why', async () => {
      const reason = 'Escalation review requested by the duty manager';
      const res = await f.http().get(`/calls/${callA}`).set(bearer(sup)).set('X-Access-Reason', reason);
      expect(res.status).toBe(200);
      expect(res.body.notes[0].text).toBe('only for need to know');
      const [entry] = await f.db.query(
        "SELECT actor_id, actor_role, target_id, detail FROM audit_log WHERE action = 'call.break_glass' AND actor_id = ? ORDER BY seq DESC LIMIT 1",
        [sup.id],
      );
      const detail = typeof entry.detail === 'string' ? JSON.parse(entry.detail) : entry.detail;
      expect({ ...entry, detail }).toEqual({ actor_id: sup.id, actor_role: 'supervisor', target_id: callA, detail: { reason } });
    });

    it('decodes a percent-encoded reason (non-Latin-1 text sent by the console)', async () => {
      const reason = 'Überprüfung — Eskalation';
      await f.http().get(`/calls/${callA}`).set(bearer(sup)).set('X-Access-Reason', encodeURIComponent(reason)).expect(200);
      const [entry] = await f.db.query(
        "SELECT detail FROM audit_log WHERE action = 'call.break_glass' AND actor_id = ? ORDER BY seq DESC LIMIT 1",
        [sup.id],
      );
      expect((typeof entry.detail === 'string' ? JSON.parse(entry.detail) : entry.detail).reason).toBe(reason);
    });
  });

  it('audits every content read by the operator', async () => {
    const before = await f.count('audit_log', "action = 'call.read' AND actor_id = ? AND target_id = ?", [opA.id, callA]);
    await f.http().get(`/calls/${callA}`).set(bearer(opA)).expect(200);
    expect(await f.count('audit_log', "action = 'call.read' AND actor_id = ? AND target_id = ?", [opA.id, callA])).toBe(before + 1);
  });

  it('has no route that answers without a token, except sign-in, docs, health and metrics', async () => {
    const doc = (await f.http().get('/docs/json')).body;
    // The second step of sign-in is public too: a challenge from a right password stands in for a token.
    const publicPaths = new Set([
      '/auth/login',
      '/auth/factor',
      '/auth/factor/enrol',
      '/auth/factor/passkey',
      '/auth/factor/passkey/options',
      '/health',
    ]);
    const uuid = '6f1c4f7e-2b1d-4c8a-9a53-0c1f2d3e4f50';
    let checked = 0;
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const method of Object.keys(ops)) {
        if (publicPaths.has(path)) continue;
        const concrete = path.replace(/\{[^}]+\}/g, uuid);
        const res = await (f.http() as any)[method](concrete).send({});
        expect({ route: `${method.toUpperCase()} ${path}`, status: res.status }).toEqual({
          route: `${method.toUpperCase()} ${path}`,
          status: 401,
        });
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });
});
