import { readFileSync, statSync } from 'fs';
import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env } from '@hotline/config';
import { dumpAllText, openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { TestStaff, bearer } from '../support/factories';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { findLeaks, logCaptureFile, registerSecret } from '../support/log-capture';
import { RecordsTestApp, startRecordsApp } from '../support/records-app';
import { TwilioPeer } from '../support/twilio-peer';
import {
  ConsoleClient,
  SimulatedCall,
  TwilioWebhooks,
  callStatus,
  connectConsole,
  operatorAnswers,
  placeCall,
  testNumber,
} from '../support/webhooks';

const PUBLIC_URL = 'https://hotline.example.test';
const LOCATION = { FromCity: 'SPRINGFIELD', FromState: 'IL', FromZip: '62701', FromCountry: 'US' };
/** What Twilio sends as `From` for a withheld or unavailable caller ID: none of them is a number to show. */
const WITHHELD = [
  '+266696687',
  '+7378742833',
  '+2562533',
  '+86282452253',
  '+8656696',
  'anonymous',
  'restricted',
  'unknown',
  'private',
  'unavailable',
];

/** Every key of the test's Redis database with its value, as text (BullMQ's jobs included). */
async function dumpRedis(redis: Redis): Promise<string> {
  const out: string[] = [];
  for (const key of await redis.keys('*')) {
    const type = await redis.type(key);
    if (type === 'string') out.push(key, (await redis.get(key)) ?? '');
    else if (type === 'hash') out.push(key, JSON.stringify(await redis.hgetall(key)));
    else if (type === 'list') out.push(key, ...(await redis.lrange(key, 0, -1)));
    else if (type === 'set') out.push(key, ...(await redis.smembers(key)));
    else if (type === 'zset') out.push(key, ...(await redis.zrange(key, 0, -1)));
    else if (type === 'stream') out.push(key, JSON.stringify(await redis.xrange(key, '-', '+')));
  }
  return out.join('\n');
}

describe('active rescue', () => {
  let peer: TwilioPeer;
  let env: Env;
  let gateway: INestApplication;
  let base: string;
  let hooks: TwilioWebhooks;
  let records: RecordsTestApp;
  let db: DataSource;
  let keys: DataSource;
  let closeDb: () => Promise<void>;
  let redis: Redis;
  let operator: TestStaff;
  let supervisor: TestStaff;
  const clients: ConsoleClient[] = [];

  beforeAll(async () => {
    peer = await startTwilioPeer();
    const vars = { TWILIO_API_URL: peer.url, PUBLIC_URL };
    env = envFor(vars);
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    records = await startRecordsApp(vars);
    ({ app: gateway, base, hooks } = await startGatewayApp(env));
    ({ db, keys, close: closeDb } = await openTestDataSources());
    operator = await records.f.staff('operator');
    supervisor = await records.f.staff('supervisor');
  });

  afterEach(() => {
    while (clients.length) clients.pop()!.close();
  });

  afterAll(async () => {
    hooks?.close();
    await gateway?.close();
    await records?.close();
    await peer?.stop();
    await closeDb?.();
    await redis?.quit();
  });

  const http = () => records.f.http();

  /** A caller (with caller-ID location) answered by `operator` through the console, as in production. */
  async function liveCall(op: TestStaff, withheld?: string): Promise<{ call: SimulatedCall; console: ConsoleClient }> {
    const console = await connectConsole(base, '/operator', op.token);
    clients.push(console);
    await console.next('status');
    await console.emit('status:set', { status: 'available' });
    const from = withheld ?? testNumber();
    if (!withheld) registerSecret('number', from);
    const call = await placeCall(hooks, { digits: '2', from, extra: LOCATION });
    peer.registerCall(call.callSid, from, '+15550000000');
    await console.next('call:offered', (p) => p.callId === call.callId);
    expect(await console.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    await operatorAnswers(hooks, peer, call);
    for (let i = 0; i < 100; i++) {
      const [row] = await db.query('SELECT operator_id FROM calls WHERE id = ?', [call.callId]);
      if (row?.operator_id === op.id) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return { call, console };
  }

  it('is refused without a supervisor’s approval, granted with it: the number and location are shown to the two people only, the escalation says what and to whom, and afterwards the number is in no table, log, job or Redis key', async () => {
    const logStart = statSync(logCaptureFile()).size;
    const sup = await connectConsole(base, '/supervisor', supervisor.token);
    clients.push(sup);
    const { call, console } = await liveCall(operator);
    const path = `/calls/${call.callId}/rescue-requests`;

    // Not before the call is assessed imminent risk, and only by the operator who handles it.
    await http().post(path).set(bearer(operator)).send({ reason: 'caller has means and a plan' }).expect(409);
    await http().put(`/calls/${call.callId}/assessment`).set(bearer(operator)).send({ riskLevel: 'imminent' }).expect(200);
    const stranger = await records.f.staff('operator');
    await http().post(path).set(bearer(stranger)).send({ reason: 'caller has means and a plan' }).expect(404);
    await http().post(path).set(bearer(supervisor)).send({ reason: 'caller has means and a plan' }).expect(403);
    await http().post(path).set(bearer(operator)).send({ reason: ' ' }).expect(400);

    const requested = await http().post(path).set(bearer(operator)).send({ reason: 'caller has means and a plan' }).expect(201);
    const id = requested.body.id;
    expect(Object.keys(requested.body)).toEqual(['id']);
    const alert = await sup.next('alert:rescue', (a) => a.requestId === id);
    expect(alert).toEqual({ callId: call.callId, requestId: id, operatorId: operator.id, at: expect.any(String) });

    // Asked, not approved: nobody sees the number.
    const pending = await http().get(`${path}/${id}`).set(bearer(operator)).expect(200);
    expect(pending.body).toEqual({ status: 'requested' });
    await http().post(`${path}/${id}/approve`).set(bearer(operator)).send({ reason: 'self-approval' }).expect(403);
    await http().post(`${path}/${id}/approve`).set(bearer(supervisor)).send({}).expect(400);
    expect(peer.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/Calls/${call.callSid}.json`))).toEqual([]);

    // Approved: read live from Twilio's Call resource and the routing state.
    const approved = await http()
      .post(`${path}/${id}/approve`)
      .set(bearer(supervisor))
      .send({ reason: 'confirmed imminent, dispatch' })
      .expect(200);
    expect(approved.body).toEqual({
      number: call.from,
      withheld: false,
      location: { city: 'SPRINGFIELD', state: 'IL', zip: '62701', country: 'US' },
    });
    expect(peer.requests.some((r) => r.method === 'GET' && r.path.endsWith(`/Calls/${call.callSid}.json`))).toBe(true);
    await http().post(`${path}/${id}/approve`).set(bearer(supervisor)).send({ reason: 'again' }).expect(409);

    // The requesting operator is told, and reads it; nobody else can.
    expect(await console.next('rescue:approved', (p) => p.requestId === id)).toEqual({
      callId: call.callId,
      requestId: id,
      at: expect.any(String),
    });
    expect((await http().get(`${path}/${id}`).set(bearer(operator)).expect(200)).body).toMatchObject({
      status: 'approved',
      number: call.from,
    });
    expect((await http().get(`${path}/${id}`).set(bearer(supervisor)).expect(200)).body).toMatchObject({ number: call.from });
    await http().get(`${path}/${id}`).set(bearer(stranger)).expect(404);
    const otherSupervisor = await records.f.staff('supervisor');
    await http().get(`${path}/${id}`).set(bearer(otherSupervisor)).expect(404);
    for (const who of ['records_officer', 'auditor', 'admin'] as const)
      await http()
        .get(`${path}/${id}`)
        .set(bearer(await records.f.staff(who)))
        .expect(403);

    // On record: who asked, who approved, the escalation with the fields and the people, never the values.
    const [row] = await db.query('SELECT requested_by, approved_by, status, escalation_id FROM rescue_requests WHERE id = ?', [id]);
    expect(row).toMatchObject({ requested_by: operator.id, approved_by: supervisor.id, status: 'approved' });
    const escalations = await http().get(`/calls/${call.callId}/escalations`).set(bearer(supervisor)).expect(200);
    expect(escalations.body.map((e: any) => e.id)).toContain(row.escalation_id);
    const detail = await http().get(`/calls/${call.callId}`).set(bearer(operator)).expect(200);
    const escalation = detail.body.escalations.find((e: any) => e.id === row.escalation_id);
    expect(escalation.fieldsDisclosed).toEqual(['phone_number', 'caller_location']);
    expect(escalation.disclosedTo).toContain(operator.id);
    expect(escalation.disclosedTo).toContain(supervisor.id);
    const audit: { action: string; actor_id: string; detail: unknown }[] = await db.query(
      "SELECT action, actor_id, detail FROM audit_log WHERE target_id = ? AND action LIKE 'rescue.%' ORDER BY seq",
      [call.callId],
    );
    expect(audit.map((a) => [a.action, a.actor_id])).toEqual([
      ['rescue.requested', operator.id],
      ['rescue.approved', supervisor.id],
      ['rescue.disclosed', operator.id],
      ['rescue.disclosed', supervisor.id],
    ]);

    // The call ends: the location leaves the routing state, the number can no longer be read.
    expect(await dumpRedis(redis)).toContain('SPRINGFIELD');
    peer.endQuietly(call.callSid);
    await callStatus(hooks, call, 'completed', 5);
    await console.next('call:ended', (p) => p.callId === call.callId);
    await http().get(`${path}/${id}`).set(bearer(operator)).expect(409);

    // The scan: both databases, every Redis key (routing, BullMQ jobs, contact keys), the logs.
    const digits = call.from.slice(1);
    const inDatabases = (await dumpAllText(db)) + (await dumpAllText(keys));
    const inRedis = await dumpRedis(redis);
    const logs = readFileSync(logCaptureFile()).subarray(logStart).toString('utf8');
    for (const [where, text] of Object.entries({ inDatabases, inRedis, logs })) {
      expect({ where, found: text.includes(digits) }).toEqual({ where, found: false });
    }
    expect(inRedis).not.toContain('SPRINGFIELD');
    expect(inDatabases).not.toContain('SPRINGFIELD');
    expect(findLeaks(logs, [{ kind: 'number', value: call.from }])).toEqual([]);
    // The logs hold this run's lines (a clean scan means something).
    expect(logs.length).toBeGreaterThan(0);
  });

  it('says the number is withheld when Twilio’s caller ID is one of its stand-ins for a withheld or unavailable number, and still shows the caller-ID location', async () => {
    for (const from of WITHHELD) {
      const op = await records.f.staff('operator');
      const { call, console } = await liveCall(op, from);
      const path = `/calls/${call.callId}/rescue-requests`;
      await http().put(`/calls/${call.callId}/assessment`).set(bearer(op)).send({ riskLevel: 'imminent' }).expect(200);
      const { body } = await http().post(path).set(bearer(op)).send({ reason: 'caller has means and a plan' }).expect(201);
      const approved = await http().post(`${path}/${body.id}/approve`).set(bearer(supervisor)).send({ reason: 'dispatch' }).expect(200);
      const location = { city: 'SPRINGFIELD', state: 'IL', zip: '62701', country: 'US' };
      expect({ from, disclosed: approved.body }).toEqual({ from, disclosed: { number: null, withheld: true, location } });
      expect((await http().get(`${path}/${body.id}`).set(bearer(op)).expect(200)).body).toEqual({
        status: 'approved',
        number: null,
        withheld: true,
        location,
      });
      // What the escalation says was disclosed: the location, not a number.
      const [row] = await db.query('SELECT escalation_id FROM rescue_requests WHERE id = ?', [body.id]);
      const detail = await http().get(`/calls/${call.callId}`).set(bearer(op)).expect(200);
      expect(detail.body.escalations.find((e: any) => e.id === row.escalation_id).fieldsDisclosed).toEqual(['caller_location']);
      peer.endQuietly(call.callSid);
      await callStatus(hooks, call, 'completed', 5);
      await console.next('call:ended', (p) => p.callId === call.callId);
      console.close();
    }
  });

  it('follows the call when it is handed on: after a cold transfer the operator who asked reads nothing, the one who answers is told of the approval and reads it', async () => {
    const asker = await records.f.staff('operator');
    const { call, console: first } = await liveCall(asker);
    const path = `/calls/${call.callId}/rescue-requests`;
    await http().put(`/calls/${call.callId}/assessment`).set(bearer(asker)).send({ riskLevel: 'imminent' }).expect(200);
    const { body } = await http().post(path).set(bearer(asker)).send({ reason: 'caller has means and a plan' }).expect(201);

    // The next operator is free; the first hands the call on (cold: the caller back in the queue, offered to them).
    const next = await records.f.staff('operator');
    const second = await connectConsole(base, '/operator', next.token);
    clients.push(second);
    await second.next('status');
    await second.emit('status:set', { status: 'available' });
    expect(await first.emit('call:transfer', { callId: call.callId, mode: 'cold', to: { operatorId: next.id } })).toEqual({ ok: true });
    await second.next('call:offered', (p) => p.callId === call.callId);
    // While the caller waits for them, nobody of the operators has the call: the one who asked reads nothing.
    await http().get(`${path}/${body.id}`).set(bearer(asker)).expect(404);
    await http().get(`${path}/${body.id}`).set(bearer(next)).expect(404);

    expect(await second.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    await operatorAnswers(hooks, peer, call);
    for (let i = 0; i < 100; i++) {
      const [row] = await db.query('SELECT operator_id FROM calls WHERE id = ?', [call.callId]);
      if (row?.operator_id === next.id) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await http().get(`${path}/${body.id}`).set(bearer(next)).expect(200)).body).toEqual({ status: 'requested' });

    // Approved now: the operator who has the call is told and reads it; the one who asked, neither.
    await http().post(`${path}/${body.id}/approve`).set(bearer(supervisor)).send({ reason: 'dispatch' }).expect(200);
    await second.next('rescue:approved', (p) => p.requestId === body.id);
    expect((await http().get(`${path}/${body.id}`).set(bearer(next)).expect(200)).body).toMatchObject({ number: call.from });
    const refused = await http().get(`${path}/${body.id}`).set(bearer(asker)).expect(404);
    expect(JSON.stringify(refused.body)).not.toContain(call.from.slice(1));
    expect(first.of('rescue:approved')).toEqual([]);
    // The escalation and the audit name who it was disclosed to: the call's handler and the approver.
    const [row] = await db.query('SELECT escalation_id FROM rescue_requests WHERE id = ?', [body.id]);
    const detail = await http().get(`/calls/${call.callId}`).set(bearer(next)).expect(200);
    expect(detail.body.escalations.find((e: any) => e.id === row.escalation_id).disclosedTo).toContain(next.id);
    const [approved] = await db.query("SELECT detail FROM audit_log WHERE target_id = ? AND action = 'rescue.approved'", [call.callId]);
    const approvedDetail = typeof approved.detail === 'string' ? JSON.parse(approved.detail) : approved.detail;
    expect(approvedDetail.disclosedTo).toEqual([next.id, supervisor.id]);
    peer.endQuietly(call.callSid);
    await callStatus(hooks, call, 'completed', 5);
  });

  it('is refused once the call has ended, even after a request was made', async () => {
    const operator = await records.f.staff('operator');
    const { call } = await liveCall(operator);
    const path = `/calls/${call.callId}/rescue-requests`;
    await http().put(`/calls/${call.callId}/assessment`).set(bearer(operator)).send({ riskLevel: 'imminent' }).expect(200);
    const { body } = await http().post(path).set(bearer(operator)).send({ reason: 'caller says goodbye' }).expect(201);
    peer.endQuietly(call.callSid);
    await callStatus(hooks, call, 'completed', 5);
    for (let i = 0; i < 100; i++) {
      const [row] = await db.query('SELECT ended_at FROM calls WHERE id = ?', [call.callId]);
      if (row?.ended_at) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await http().post(`${path}/${body.id}/approve`).set(bearer(supervisor)).send({ reason: 'too late' }).expect(409);
    expect(JSON.stringify(res.body)).not.toContain(call.from.slice(1));
    const [row] = await db.query('SELECT status, approved_by FROM rescue_requests WHERE id = ?', [body.id]);
    expect(row).toEqual({ status: 'requested', approved_by: null });
  });
});
