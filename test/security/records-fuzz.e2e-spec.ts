import fc from 'fast-check';
import { randomUUID } from 'crypto';
import { TestStaff, bearer } from '../support/factories';
import { conforming, Doc, hostileBody, idSegment, oddText, pct, rawBody, resolve } from './support/fuzz';
import { fuzzSeed, judgeSuccess, undescribedSuccesses, validate } from './support/openapi-check';
import { fromOpenApiPath, routeTable } from './support/routes';
import { auditSince, recordsFingerprint } from './support/state';
import { withRecordsApp } from '../support/records-app';
import { TEST_SECRETS } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';

/**
 * Property-based fuzzing of every records operation in the OpenAPI document: hostile bodies built
 * from each operation's own schema (wrong types, unknown and privileged fields, odd unicode, huge
 * strings, required fields missing), raw bodies that are not JSON, and path ids that are not
 * UUIDs. Whatever comes in: never a 5xx, a 4xx always in the error shape with a correlation id and
 * no stack, and a 4xx changes nothing in the database. A 2xx is judged too: its body against the
 * document's schema for that operation and status, and its side effects against what the
 * operation is meant to change (EFFECTS: e.g. a note adds one note row to the call it names and
 * one audit entry, and nothing else moves). Bounded runs (FUZZ_RUNS); the seed is random per run,
 * printed at the start with the command that replays it (FUZZ_SEED=<n>).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const { seed: SEED, replay: REPLAY } = fuzzSeed('test/security/records-fuzz.e2e-spec.ts');
process.stderr.write(`records fuzzing: seed ${SEED}; to replay this run: ${REPLAY}\n`);
/** The fuzzer's client address (records believes the loopback proxy's X-Forwarded-For). */
const FUZZ_CLIENT = '198.18.77.77';
const SKIP = new Set(['GET /health', 'GET /metrics']);

/**
 * What a 2xx of each operation may change, as exact differences of recordsFingerprint: `rows` of
 * tables (a table with a call_id must have grown for the call in the path), the audit entries
 * appended (`audit`: the sequences of actions allowed, e.g. a read by a supervisor is audited as
 * break-glass), and the in-place digests it may move (`moves`). Everything not named must be equal
 * before and after. An operation without an entry changes nothing at all.
 */
interface Effect {
  rows?: Record<string, number>;
  audit?: string[][];
  moves?: string[];
}
const EFFECTS: Record<string, Effect> = {
  // Issue 24: a session's row in records' database is written when it begins, and when a session minted without one ends or locks.
  'POST /auth/login': { rows: { staff_sessions: 1 }, audit: [['auth.login']] },
  'POST /auth/logout': { rows: { staff_sessions: 1 }, audit: [['auth.logout']] },
  'POST /auth/lock': { rows: { staff_sessions: 1 }, audit: [['auth.session_locked']] },
  'POST /auth/unlock': { rows: { staff_sessions: 1 }, audit: [['auth.session_unlocked']] },
  'POST /auth/step-up': { rows: { staff_sessions: 1 }, audit: [['auth.stepped_up']] },
  'POST /users': { rows: { staff: 1 }, audit: [['staff.created']], moves: ['staffDigest'] },
  'PATCH /users/:id': { audit: [['staff.updated']], moves: ['staffDigest'] },
  'GET /calls/:callId': { audit: [['call.read'], ['call.break_glass']] },
  'POST /calls/:callId/notes': { rows: { notes: 1 }, audit: [['note.added'], ['note.amended']] },
  'PUT /calls/:callId/assessment': { rows: { risk_assessments: 1 }, audit: [['call.assessed']], moves: ['callsDigest'] },
  // A duty-to-warn escalation is an imminent-risk assessment too (level, history and retention follow).
  'POST /calls/:callId/escalations': {
    rows: { escalations: 1, risk_assessments: 1 },
    audit: [['escalation.created']],
    moves: ['callsDigest'],
  },
  'POST /calls/:callId/escalations/:id/cosign': { audit: [['escalation.cosigned']], moves: ['cosigned'] },
  'POST /calls/:callId/legal-hold': { rows: { legal_holds: 1 }, audit: [['legal_hold.placed']], moves: ['holdsInForce'] },
  'DELETE /calls/:callId/legal-hold': { audit: [['legal_hold.lifted']], moves: ['holdsInForce'] },
  'GET /audit/verify': { audit: [['audit.verified']] },
  'GET /deletion-requests': { audit: [['deletion_requests.listed']] },
  // Issue 15. A follow-up or an approval reads Twilio first (the peer here knows none of these calls: 409).
  'POST /calls/:callId/rescue-requests': { rows: { rescue_requests: 1 }, audit: [['rescue.requested']] },
  'POST /calls/:callId/rescue-requests/:id/approve': { rows: { escalations: 1 }, audit: [['rescue.approved']] },
  'GET /calls/:callId/rescue-requests/:id': { audit: [[], ['rescue.disclosed']] },
  'POST /calls/:callId/followups': { rows: { callbacks: 1, consents: 1 }, audit: [['followup.scheduled']] },
  'POST /callbacks/:id/dial': { rows: { callback_attempts: 1 }, audit: [['callback.dialled']] },
  'GET /deletion-requests/:id': { audit: [['deletion_request.read']] },
  // Oversight (issue 17). A complaint counts into the hourly statistics: a new hour's row, or one more on its row.
  'GET /audit/entries/csv': { audit: [['audit.exported']] },
  'GET /audit/access-report': { audit: [['audit.access_report']] },
  'GET /audit/access-report/csv': { audit: [['audit.access_report']] },
  'GET /research/export': { audit: [['research.exported']] },
  'GET /research/export/csv': { audit: [['research.exported']] },
  'POST /complaints': { rows: { complaints: 1 }, audit: [['complaint.recorded']], moves: ['complaintsDigest', 'statsCount'] },
  'GET /complaints/:id': { audit: [['complaint.read']] },
  'PATCH /complaints/:id': { audit: [['complaint.status_changed']], moves: ['complaintsDigest', 'statsCount'] },
  // Issue 16 (staff accounts).
  'POST /auth/password': { rows: { staff_sessions: 1 }, audit: [['staff.password_changed']] },
  'POST /auth/passkeys': { rows: { staff_passkeys: 1 }, audit: [['auth.passkey_added']] },
  'DELETE /auth/sessions/:sid': { audit: [['auth.session_ended']] },
  'POST /users/:id/password-reset': { audit: [['staff.password_reset']] },
  'POST /users/:id/factor-reset': { audit: [['staff.factor_reset']] },
  'POST /agreements/:version/accept': { rows: { agreement_acceptances: 1 }, audit: [['agreement.accepted']] },
  'POST /handovers': { rows: { handovers: 1 }, audit: [['calls.handed_over']], moves: ['callsDigest'] },
};

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

describe('records fuzzing from the OpenAPI document', () => {
  // Records reads callers' numbers from Twilio (follow-ups, active rescue): the local peer answers it
  // (it knows none of these calls), registered before the app's own hook so the app starts with its address.
  const twilio = new TwilioPeer(TEST_SECRETS.TWILIO_ACCOUNT_SID, TEST_SECRETS.TWILIO_AUTH_TOKEN);
  const twilioEnv: Record<string, string> = {};
  beforeAll(async () => {
    await twilio.start();
    twilioEnv.TWILIO_API_URL = twilio.url;
  });
  afterAll(() => twilio.stop());
  const records = withRecordsApp(twilioEnv);
  const { f } = records;
  let doc: Doc;
  let owner: TestStaff;
  const byRole: Record<string, TestStaff> = {};
  const callIds: string[] = [];
  const escalationIds: string[] = [];
  let roles: Map<string, string[]>;

  beforeAll(async () => {
    doc = (await f.http().get('/docs/json').expect(200)).body;
    owner = await f.staff('operator');
    for (const role of ['supervisor', 'records_officer', 'auditor', 'admin'] as const) byRole[role] = await f.staff(role);
    byRole.operator = owner;
    for (let i = 0; i < 3; i++) callIds.push(await f.call({ operator: owner }));
    const e = await f
      .http()
      .post(`/calls/${callIds[0]}/escalations`)
      .set(bearer(owner))
      .send({ disclosedTo: 'Police', legalBasis: 'Vital interests', fieldsDisclosed: ['call_time'] })
      .expect(201);
    escalationIds.push(e.body.id);
    roles = new Map(routeTable(records.app).map((r) => [r.key, (r.roles ?? []) as string[]]));
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${fromOpenApiPath(path)}`, method, path, op })),
    );

  /** Who calls it: the role that may (an operator is the call's own operator), so requests get past the guard. */
  const actorFor = (key: string): TestStaff | undefined => {
    const allowed = roles.get(key) ?? [];
    if (!allowed.length) return undefined;
    return allowed.includes('operator') ? owner : byRole[allowed[0]];
  };

  /** 2xx answers judged, by operation (printed at the end; the writes must have had some). */
  const judged = new Map<string, number>();

  /** A 2xx's side effects against EFFECTS[key]: the problems found ([] = as meant). */
  async function effects(key: string, before: Record<string, unknown>, after: Record<string, unknown>, callId?: string): Promise<string[]> {
    const effect = EFFECTS[key] ?? {};
    const problems: string[] = [];
    const n = (fp: Record<string, unknown>, k: string) => Number(fp[k] ?? 0);
    const appended = await auditSince(f.db, before.auditHead);
    const actions = JSON.stringify(appended.map((e) => e.action));
    const allowed = (effect.audit ?? [[]]).map((a) => JSON.stringify(a));
    if (!allowed.includes(actions)) problems.push(`audit entries appended: ${actions}, expected ${allowed.join(' or ')}`);
    if (n(after, 'rows:audit_log') - n(before, 'rows:audit_log') !== appended.length)
      problems.push('the audit log changed other than by appending');
    if (callId && appended.some((e) => e.target_type === 'call' && e.target_id?.toLowerCase() !== callId.toLowerCase()))
      problems.push(`an audit entry names another call than ${callId}: ${JSON.stringify(appended)}`);
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (k === 'auditHead' || k === 'rows:audit_log' || k === 'rows:audit_head' || k.startsWith('call:')) continue;
      if (k === 'rows:stats_hourly' && effect.moves?.includes('statsCount')) continue;
      if (k.startsWith('rows:')) {
        const table = k.slice(5);
        const delta = n(after, k) - n(before, k);
        const meant = effect.rows?.[table] ?? 0;
        if (delta !== meant) problems.push(`${table}: ${delta >= 0 ? '+' : ''}${delta} rows, expected ${meant >= 0 ? '+' : ''}${meant}`);
        if (meant && `call:${table}` in after && n(after, `call:${table}`) - n(before, `call:${table}`) !== meant)
          problems.push(`${table}: the new row is not on the call in the path (${callId})`);
      } else if (before[k] !== after[k] && !effect.moves?.includes(k)) problems.push(`${k} changed (${before[k]} → ${after[k]})`);
    }
    return problems;
  }

  async function check(
    key: string,
    res: { status: number; text: string; body: any; headers: Record<string, string> },
    before: Record<string, unknown>,
    mayChangeOn4xx: boolean,
    success?: { op: any; callId?: string },
  ): Promise<void> {
    if (res.status >= 500) throw new Error(`${key} answered ${res.status}: ${res.text.slice(0, 300)}`);
    if (res.status < 300 && success) {
      judged.set(key, (judged.get(key) ?? 0) + 1);
      const problems = judgeSuccess(doc, key, success.op, res);
      problems.push(...(await effects(key, before, await recordsFingerprint(f.db, success.callId), success.callId)));
      if (problems.length) throw new Error(`${key} answered ${res.status}, but:\n- ${problems.join('\n- ')}\n${res.text.slice(0, 300)}`);
    }
    if (res.status >= 400) {
      if (!String(res.headers['content-type']).includes('json') || typeof res.body?.correlationId !== 'string')
        throw new Error(`${key} ${res.status} without the error shape: ${res.text.slice(0, 200)}`);
      if (/\bat [^\n]+\.(ts|js):\d+/.test(res.text)) throw new Error(`${key} ${res.status} leaks a stack trace`);
      if (!mayChangeOn4xx) {
        const after = await recordsFingerprint(f.db, success?.callId);
        if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`${key} refused with ${res.status} but the database changed`);
      }
    }
  }

  it('covers every operation of the document', () => {
    const keys = operations().map((o) => o.key);
    expect(keys.length).toBeGreaterThanOrEqual(12);
    expect(keys).toEqual(
      expect.arrayContaining([
        'POST /calls/:callId/notes',
        'PUT /calls/:callId/assessment',
        'POST /calls/:callId/escalations',
        'POST /users',
        'POST /auth/login',
      ]),
    );
  });

  // A 2xx is judged against the schema of its status: these answer bodies the document does not
  // describe, so only their side effects are judged. The list may only shrink.
  it('has a validator that refuses what the document does not allow', () => {
    const created = { $ref: '#/components/schemas/CreatedDto' };
    const ok = { id: randomUUID(), createdAt: new Date().toISOString() };
    expect(validate(doc, created, ok)).toEqual([]);
    expect(validate(doc, created, { ...ok, id: 'not-a-uuid' })).toHaveLength(1);
    expect(validate(doc, created, { ...ok, createdAt: 'yesterday' })).toHaveLength(1);
    expect(validate(doc, created, { id: ok.id })).toEqual(['$: required property createdAt is missing']);
    expect(validate(doc, created, { ...ok, callerPseudonym: 'x' })).toEqual(['$: property callerPseudonym is not in the document']);
    expect(validate(doc, created, null)).toHaveLength(1);
    expect(validate(doc, created, [ok])).toHaveLength(1);
    const page = { $ref: '#/components/schemas/CallPageDto' };
    expect(validate(doc, page, { items: [], nextCursor: null })).toEqual([]);
    expect(validate(doc, page, { items: [{}], nextCursor: 7 })).not.toEqual([]);
  });

  it('describes the body of every success but the health check and the retention report', () => {
    expect(undescribedSuccesses(doc).sort()).toEqual(['GET /health', 'GET /retention/report']);
  });

  it('never answers a hostile body or path with a 5xx, and a refusal changes nothing', async () => {
    let seed = SEED;
    for (const { key, method, op } of operations()) {
      if (SKIP.has(key)) continue;
      const schema = op.requestBody?.content?.['application/json']?.schema;
      const actor = actorFor(key);
      // Failed sign-ins (and wrong current passwords) are audited and counted by design: a 4xx there does change the database.
      const mayChange = ['POST /auth/login', 'POST /auth/password', 'POST /auth/unlock', 'POST /auth/step-up'].includes(key);
      const idsFor = (name: string) => (name === 'id' ? escalationIds : callIds);
      const params = (key.match(/:[A-Za-z]+/g) ?? []).map((p) => p.slice(1));
      const pathArb = fc.tuple(...params.map((p) => idSegment(idsFor(p)))).map((ids) => {
        let i = 0;
        return {
          path: key.split(' ')[1].replace(/:[A-Za-z]+/g, () => ids[i++]),
          callId: ids[params.indexOf('callId')] as string | undefined,
        };
      });
      const bodyArb = schema
        ? fc.oneof(
            { arbitrary: hostileBody(doc, schema).map((b) => ({ json: b })), weight: 4 },
            { arbitrary: rawBody.map((r) => ({ raw: r })), weight: 1 },
          )
        : fc.constant({} as { json?: unknown; raw?: undefined });
      const queryArb =
        key === 'GET /calls'
          ? fc.record(
              {
                limit: fc.oneof(
                  fc.integer({ min: -5, max: 200 }).map(String),
                  fc.constantFrom('abc', '1e2', '0x10', '', '1.5', ' 5', 'NaN', 'Infinity'),
                ),
                cursor: fc.oneof(
                  fc.string({ maxLength: 80 }),
                  fc.string({ maxLength: 60 }).map((s) => Buffer.from(`${s}|${randomUUID()}`).toString('base64url')),
                  fc
                    .date({ noInvalidDate: false })
                    .map((d) =>
                      Buffer.from(`${isNaN(+d) ? '9999-99-99T99:99:99.999Z' : d.toISOString()}|${randomUUID()}`).toString('base64url'),
                    ),
                ),
              },
              { requiredKeys: [] },
            )
          : fc.constant({});

      await fc.assert(
        fc.asyncProperty(pathArb, bodyArb, queryArb, fc.boolean(), async ({ path, callId }, body, query, asStranger) => {
          // Signing out ends (locking locks) the session it is sent with: it gets a session of its own each time.
          const who =
            key === 'POST /auth/logout' || key === 'POST /auth/lock'
              ? await f.staff('operator')
              : asStranger
                ? byRole[['supervisor', 'records_officer', 'auditor', 'admin', 'operator'][path.length % 5]]
                : actor;
          const before = await recordsFingerprint(f.db, callId && decodeURIComponentSafe(callId));
          // From an address of its own: its failed sign-ins must not slow other suites' sign-ins from loopback.
          let req = (f.http() as any)[method](path).query(query).set('X-Forwarded-For', FUZZ_CLIENT);
          if (who) req = req.set(bearer(who));
          if (who?.role === 'supervisor') req = req.set('X-Access-Reason', 'fuzzing');
          if ('raw' in body && body.raw) {
            req = req.set('Content-Type', body.raw.type);
            if (body.raw.encoding) req = req.set('Content-Encoding', body.raw.encoding);
            req = req.send(body.raw.body);
          } else if ('json' in body) req = req.set('Content-Type', 'application/json').send(JSON.stringify(body.json));
          const res = await req;
          await check(key, res, before, mayChange, { op, callId: callId && decodeURIComponentSafe(callId) });
        }),
        { numRuns: RUNS, seed: seed++, endOnFailure: true },
      );
    }
    process.stderr.write(`records fuzzing: 2xx answers judged (schema and side effects): ${JSON.stringify(Object.fromEntries(judged))}\n`);
    // Hostile bodies are mostly almost right: with the default runs, the writes do succeed sometimes, and those were judged.
  }, 90_000);

  // Most hostile bodies are refused: here the writes get bodies that are hostile but acceptable (odd
  // unicode, bait, control characters in text fields; the right caller, a real call), so that many
  // succeed, and every success is judged like any other: its body against the document and its
  // side effects against EFFECTS.
  it('judges the successes of hostile but acceptable writes: the documented body, and only the meant side effects', async () => {
    const writes = ['POST /calls/:callId/notes', 'PUT /calls/:callId/assessment', 'POST /calls/:callId/escalations', 'POST /users'];
    const before2xx = new Map(judged);
    let seed = SEED + 200;
    for (const { key, method, op } of operations().filter((o) => writes.includes(o.key))) {
      const schema = resolve(doc, op.requestBody?.content?.['application/json']?.schema);
      const textFields = Object.entries(schema.properties ?? {})
        .filter(
          ([, v]) => resolve(doc, v).type === 'string' && !resolve(doc, v).enum && !resolve(doc, v).format && !resolve(doc, v).pattern,
        )
        .map(([k]) => k);
      // An optional reference (e.g. amendsNoteId) to a random id names nothing: left out.
      const references = Object.entries(schema.properties ?? {})
        .filter(([k, v]) => resolve(doc, v).format === 'uuid' && !schema.required?.includes(k))
        .map(([k]) => k);
      const valid = (conforming(doc, schema) as fc.Arbitrary<Record<string, unknown>>).map((b) =>
        Object.fromEntries(Object.entries(b).filter(([k]) => !references.includes(k))),
      );
      const body = fc.oneof(
        valid,
        textFields.length ? fc.tuple(valid, fc.constantFrom(...textFields), oddText).map(([b, k, v]) => ({ ...b, [k]: v })) : valid,
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...callIds), body, async (callId, json) => {
          const who = actorFor(key)!;
          const path = key.split(' ')[1].replace(':callId', callId);
          const before = await recordsFingerprint(f.db, callId);
          let req = (f.http() as any)[method](path).set(bearer(who)).set('X-Forwarded-For', FUZZ_CLIENT);
          if (who.role === 'supervisor') req = req.set('X-Access-Reason', 'fuzzing');
          const res = await req.set('Content-Type', 'application/json').send(JSON.stringify(json));
          await check(key, res, before, false, { op, callId });
        }),
        { numRuns: RUNS, seed: seed++, endOnFailure: true },
      );
    }
    const here = writes.map((w) => [w, (judged.get(w) ?? 0) - (before2xx.get(w) ?? 0)] as const);
    process.stderr.write(`records fuzzing: acceptable hostile writes, 2xx judged: ${JSON.stringify(Object.fromEntries(here))}\n`);
    // Most of them succeed (a body can still be refused, e.g. a note amending a note that does not exist).
    if (RUNS >= 20) expect(here.filter(([, n]) => n < RUNS / 4)).toEqual([]);
  }, 90_000);

  // Found by the fuzzer (an upper-case copy of a real call id): MariaDB matches ids without regard
  // to case, but the call's data key is bound to the id exactly as first written.
  it('treats a call id in upper case as the same call: no 5xx, and the call stays writable', async () => {
    const fresh = await f.call({ operator: owner });
    const viaUpper = await f
      .http()
      .post(`/calls/${fresh.toUpperCase()}/notes`)
      .set(bearer(owner))
      .send({ text: 'First note, sent with the id in capitals' });
    expect(viaUpper.status).toBeLessThan(500);
    const viaLower = await f
      .http()
      .post(`/calls/${fresh}/notes`)
      .set(bearer(owner))
      .send({ text: 'Second note, sent with the id as listed' });
    expect(viaLower.status).toBe(201);
    const escalation = await f
      .http()
      .post(`/calls/${fresh.toUpperCase()}/escalations`)
      .set(bearer(owner))
      .send({ disclosedTo: 'Police', legalBasis: 'Vital interests', fieldsDisclosed: ['call_time'] });
    expect(escalation.status).toBeLessThan(500);
    const read = await f.http().get(`/calls/${fresh}`).set(bearer(owner)).expect(200);
    expect(read.body.notes.filter((n: { unavailable?: boolean }) => n.unavailable)).toEqual([]);
  });

  it('never answers an odd break-glass reason with a 5xx, and refuses one over 500 characters without reading', async () => {
    const sup = byRole.supervisor;
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 600 });
    const encoded = oddText.map((s) => pct(s).slice(0, 700));
    const brokenEscapes = fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%%%', '%C0%AF', '%00', '%0d%0aX-Injected: 1', '%ED%A0%80');
    await fc.assert(
      fc.asyncProperty(fc.oneof(printable, encoded, brokenEscapes), async (reason) => {
        const before = await recordsFingerprint(f.db, callIds[1]);
        const res = await f.http().get(`/calls/${callIds[1]}`).set(bearer(sup)).set('X-Access-Reason', reason);
        await check('GET /calls/:callId', res, before, res.status === 200, { op: doc.paths['/calls/{callId}'].get, callId: callIds[1] });
        if (reason.trim().length > 500 && !/%[0-9A-Fa-f]{2}/.test(reason)) expect(res.status).toBe(400);
      }),
      { numRuns: RUNS * 2, seed: SEED + 100, endOnFailure: true },
    );
  });
});
