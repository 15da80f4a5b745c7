import { TestStaff, bearer } from '../support/factories';
import { withRecordsApp } from '../support/records-app';

describe('bad input to the records app', () => {
  const { f } = withRecordsApp();
  let op: TestStaff;
  let officer: TestStaff;
  let sup: TestStaff;
  let callId: string;

  beforeAll(async () => {
    op = await f.staff('operator');
    officer = await f.staff('records_officer');
    sup = await f.staff('supervisor');
    callId = await f.call({ operator: op });
  });

  const tables = ['notes', 'risk_assessments', 'escalations', 'legal_holds', 'audit_log', 'staff', 'calls'];
  const counts = async () => Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await f.count(t)])));

  /** A clear 4xx naming the field, with a correlation id and no internals. */
  const expectClearError = (res: any, status: number, field: string) => {
    expect({ status: res.status, fields: res.body.fields }).toEqual({ status, fields: expect.arrayContaining([field]) });
    expect(res.body.correlationId).toEqual(expect.any(String));
    expect(res.headers['x-request-id']).toBe(res.body.correlationId);
    expect(typeof res.body.message).toBe('string');
    expect(JSON.stringify(res.body)).not.toMatch(/stack|\.ts:\d+|node_modules|QueryFailedError|SELECT /);
  };

  it('names the field at fault and writes nothing, whatever is wrong', async () => {
    const before = await counts();
    const note = (body: unknown) =>
      f
        .http()
        .post(`/calls/${callId}/notes`)
        .set(bearer(op))
        .send(body as object);
    expectClearError(await note({ text: 'hi', mood: 'sad' }), 400, 'mood');
    expectClearError(await note({ text: 42 }), 400, 'text');
    expectClearError(await note({}), 400, 'text');
    expectClearError(await note({ text: '   ' }), 400, 'text');
    expectClearError(await note({ text: 'ok', amendsNoteId: 'not-a-uuid' }), 400, 'amendsNoteId');
    expectClearError(await note({ text: 'x'.repeat(16 * 1024 + 1) }), 400, 'text');
    expectClearError(await note({ text: 'é'.repeat(8 * 1024 + 1) }), 400, 'text'); // 16 KB + 2 bytes in UTF-8
    expectClearError(await f.http().post('/calls/not-a-uuid/notes').set(bearer(op)).send({ text: 'hi' }), 400, 'callId');
    expectClearError(await f.http().get('/calls/12345').set(bearer(op)), 400, 'callId');
    expectClearError(await f.http().post(`/calls/${callId}/escalations/nope/cosign`).set(bearer(sup)).send({}), 400, 'id');
    expectClearError(await f.http().put(`/calls/${callId}/assessment`).set(bearer(op)).send({ riskLevel: 'severe' }), 400, 'riskLevel');
    expectClearError(
      await f
        .http()
        .put(`/calls/${callId}/assessment`)
        .set(bearer(op))
        .send({ riskLevel: ['high'] }),
      400,
      'riskLevel',
    );
    expectClearError(
      await f
        .http()
        .post(`/calls/${callId}/escalations`)
        .set(bearer(op))
        .send({ disclosedTo: 'Police', legalBasis: 'Vital interests', fieldsDisclosed: 'caller_location' }),
      400,
      'fieldsDisclosed',
    );
    expectClearError(
      await f
        .http()
        .post(`/calls/${callId}/escalations`)
        .set(bearer(op))
        .send({
          disclosedTo: 'Police',
          legalBasis: 'Vital interests',
          fieldsDisclosed: ['call_time'],
          emergencyContactConfirmedAt: 'yesterday',
        }),
      400,
      'emergencyContactConfirmedAt',
    );
    expectClearError(await f.http().post(`/calls/${callId}/legal-hold`).set(bearer(officer)).send({ reason: '' }), 400, 'reason');
    expectClearError(await f.http().post('/auth/login').send({ username: 'someone', password: 12345678 }), 400, 'password');
    expectClearError(await f.http().get('/calls?limit=ten').set(bearer(op)), 400, 'limit');
    expectClearError(await f.http().get('/calls?sort=desc').set(bearer(op)), 400, 'sort');
    expect(await counts()).toEqual(before);
  });

  it('refuses malformed JSON and oversized bodies, naming the body, and writes nothing', async () => {
    const before = await counts();
    const raw = (payload: string) =>
      f.http().post(`/calls/${callId}/notes`).set(bearer(op)).set('Content-Type', 'application/json').send(payload);
    expectClearError(await raw('{"text": "unfinished'), 400, 'body');
    expectClearError(await raw(JSON.stringify({ text: 'x'.repeat(70 * 1024) })), 413, 'body');
    expectClearError(await f.http().post('/auth/login').set('Content-Type', 'application/json').send('{username:'), 400, 'body');
    expect(await counts()).toEqual(before);
  });

  it('takes a note of exactly 16 KB', async () => {
    const res = await f
      .http()
      .post(`/calls/${callId}/notes`)
      .set(bearer(op))
      .send({ text: 'é'.repeat(8 * 1024) });
    expect(res.status).toBe(201);
    const read = await f.http().get(`/calls/${callId}`).set(bearer(op));
    expect(read.body.notes.find((n: any) => n.id === res.body.id).text).toHaveLength(8 * 1024);
  });
});
