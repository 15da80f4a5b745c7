import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env } from '@hotline/config';
import { envFor } from '../support/env-for';
import { bearer, TestStaff } from '../support/factories';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { withRecordsApp } from '../support/records-app';
import { TwilioPeer } from '../support/twilio-peer';
import {
  ConsoleClient,
  SimulatedCall,
  TwilioWebhooks,
  callStatus,
  connectConsole,
  consoleDevice,
  eventually,
  placeCall,
  twimlAttr,
  twimlText,
} from '../support/webhooks';

const PUBLIC_URL = 'https://hotline.example.test';

/**
 * Calls as conferences (issue 14), end to end: the gateway against the local Twilio peer, every
 * callback signed as Twilio signs it, the record in MySQL, read access through records.
 */
describe('calls as conferences', () => {
  const records = withRecordsApp();
  const { f } = records;
  let app: INestApplication;
  let env: Env;
  let peer: TwilioPeer;
  let hooks: TwilioWebhooks;
  let base: string;
  let db: DataSource;
  let redis: Redis;
  const clients: ConsoleClient[] = [];

  beforeAll(async () => {
    peer = await startTwilioPeer();
    env = envFor({ TWILIO_API_URL: peer.url, PUBLIC_URL, CALL_BRIDGE: 'conference', OFFER_TIMEOUT_SECONDS: '5' });
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    ({ app, base, hooks } = await startGatewayApp(env));
    db = f.db;
  });

  beforeEach(async () => {
    peer.conferences.failCreate = undefined;
    peer.conferences.noAnswer.clear();
    peer.conferences.declines.clear();
    await clearRouting(redis);
  });

  afterEach(async () => {
    while (clients.length) clients.pop()!.close();
    await peer.conferences.settled();
  });

  afterAll(async () => {
    await app?.close();
    hooks?.close();
    await peer?.stop();
    await redis?.quit();
  });

  /** An operator's console, with the browser's voice device that takes the legs meant for it. */
  async function operator(available = true): Promise<{ op: TestStaff; client: ConsoleClient }> {
    const op = await f.staff('operator');
    const client = await connectConsole(base, '/operator', op.token);
    clients.push(client);
    client.socket.on('disconnect', consoleDevice(peer, client, op.id));
    await client.next('status');
    if (available) expect(await client.emit('status:set', { status: 'available' })).toEqual({ ok: true, status: 'available' });
    return { op, client };
  }

  async function supervisor(): Promise<{ sup: TestStaff; wall: ConsoleClient }> {
    const sup = await f.staff('supervisor');
    const wall = await connectConsole(base, '/supervisor', sup.token);
    clients.push(wall);
    // The supervisor's console registers its voice device to listen, coach or join.
    wall.socket.on('disconnect', consoleDevice(peer, wall, sup.id));
    await wall.next('queue:stats');
    return { sup, wall };
  }

  /** A caller rings, the operator accepts: the call in its conference, every callback answered. */
  async function acceptedCall(client: ConsoleClient, digits = '1'): Promise<SimulatedCall> {
    const call = await placeCall(hooks, { digits });
    await client.next('call:offered', (p) => p.callId === call.callId);
    expect(await client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    await client.next('call:connected', (p) => p.callId === call.callId);
    await peer.conferences.settled();
    return call;
  }

  async function hangUp(call: SimulatedCall, sequence = 5): Promise<void> {
    peer.conferences.hangUp(call.callSid);
    await peer.conferences.settled();
    expect((await callStatus(hooks, call, 'completed', sequence)).status).toBe(200);
  }

  const callRow = (callId: string) => db.query('SELECT * FROM calls WHERE id = ?', [callId]).then((r: any[]) => r[0]);
  const audit = (callId: string) =>
    db.query('SELECT action, actor_id, detail FROM audit_log WHERE target_id = ? ORDER BY seq', [callId]) as Promise<
      { action: string; actor_id: string | null; detail: any }[]
    >;
  const legOf = (callId: string, label: string) =>
    [...(peer.conferences.live(callId)?.participants.values() ?? [])].find((p) => p.label === label);

  it('accepts into a conference named after the call: the operator leg dialled in, the caller joined, recorded with consent, on record', async () => {
    const { op, client } = await operator();
    const call = await acceptedCall(client, '1');

    const conf = peer.conferences.live(call.callId)!;
    expect(conf).toBeDefined();
    expect(conf.friendlyName).toBe(call.callId);
    expect(conf.record).toBe(true);
    // The operator's leg was dialled in by REST (it created the conference), then the caller joined by TwiML.
    const [first, second] = conf.joined.map((sid) => conf.participants.get(sid)!);
    expect(first).toMatchObject({ label: `op:${op.id}`, to: `client:op-${op.id}`, endConferenceOnExit: false });
    expect(second).toMatchObject({ callSid: call.callSid, label: 'caller', endConferenceOnExit: true });
    const twiml = peer.callUpdates.find((u) => u.callSid === call.callSid)!.params.Twiml;
    expect(twimlText(twiml, 'Conference')).toBe(call.callId);
    expect(twimlAttr(twiml, 'Conference', 'statusCallback')).toBe(`${PUBLIC_URL}/twilio/conference/status?c=${call.callId}`);
    expect(twiml).not.toContain(call.from);
    expect(twiml).not.toContain('<Client');

    // Every callback the peer sent was signed and taken; the record says how the caller was bridged.
    expect(peer.conferences.eventsOf(call.callId).sort()).toEqual(['conference-start', 'participant-join', 'participant-join']);
    expect(peer.webhooks.failures).toEqual([]);
    await eventually(async () => (await callRow(call.callId))?.operator_id === op.id);
    expect(await callRow(call.callId)).toMatchObject({ bridge: 'conference', conference_sid: conf.sid, status: 'connected' });

    // A replayed callback changes nothing (applied once per ConferenceSid + SequenceNumber); a forged one is refused.
    const join = peer.conferences.callbacks.find((c) => c.params.StatusCallbackEvent === 'participant-join')!;
    expect((await hooks.post(join.url, join.params)).status).toBe(200);
    expect((await hooks.post(join.url, join.params, { signature: 'forged' })).status).toBe(403);

    await hangUp(call);
    await client.next('call:ended', (p) => p.callId === call.callId);
    expect(peer.conferences.named(call.callId)!.status).toBe('completed');
    // The conference recording is linked to the call, as a direct <Dial>'s was.
    await eventually(
      async () => Number((await db.query('SELECT COUNT(*) AS n FROM recordings WHERE call_id = ?', [call.callId]))[0].n) === 1,
    );
  });

  it('records nothing for a caller who declined recording', async () => {
    const { client } = await operator();
    const call = await acceptedCall(client, '2');
    expect(peer.conferences.live(call.callId)!.record).toBe(false);
    const twiml = peer.callUpdates.find((u) => u.callSid === call.callSid)!.params.Twiml;
    expect(twimlAttr(twiml, 'Conference', 'record')).toBeNull();
    await hangUp(call);
  });

  it('falls back to a direct <Dial> when Twilio cannot create the conference: the caller is connected, never dropped', async () => {
    const { op, client } = await operator();
    peer.conferences.failCreate = 500;
    const call = await acceptedCall(client);
    const twiml = peer.callUpdates.find((u) => u.callSid === call.callSid)!.params.Twiml;
    expect(twiml).toContain(`<Client`);
    expect(twimlText(twiml, 'Identity') ?? twiml).toContain(`op-${op.id}`);
    expect(peer.conferences.named(call.callId)).toBeUndefined();
    await eventually(async () => (await callRow(call.callId))?.bridge === 'direct');
    // Hold needs a conference: refused, and said so.
    expect(await client.emit('call:hold', { callId: call.callId, hold: true })).toEqual({ ok: false, error: 'not_in_a_conference' });
    await hangUp(call);
  });

  it('puts the caller on hold with hold music and resumes: the operator sees since when, the wallboard shows it', async () => {
    const { op, client } = await operator();
    const { wall } = await supervisor();
    const call = await acceptedCall(client);

    expect(await client.emit('call:hold', { callId: call.callId, hold: true })).toEqual({ ok: true, onHold: true });
    const held = await client.next('call:hold_state', (p) => p.callId === call.callId && p.onHold);
    expect(Date.parse(held.since)).toBeGreaterThan(Date.now() - 10_000);
    const caller = legOf(call.callId, 'caller')!;
    expect(caller.hold).toBe(true);
    expect(caller.holdUrl).toBe(`${PUBLIC_URL}/twilio/conference/hold-music`);
    const board = await wall.next('queue:stats', (s) =>
      s.liveCalls?.some((c: any) => c.callId === call.callId && c.onHoldSeconds !== null),
    );
    expect(board.liveCalls.find((c: any) => c.callId === call.callId)).toMatchObject({
      operatorId: op.id,
      onHoldSeconds: expect.any(Number),
    });

    // Twilio fetches the hold URL and plays its TwiML once; the music goes on only because the TwiML
    // loops itself (a <Redirect> back to the hold URL): the caller never sits on hold in silence.
    await eventually(async () => legOf(call.callId, 'caller')!.holdFetches >= 3, 10_000);
    expect(peer.conferences.musicProblems).toEqual([]);

    // A replayed hold callback is applied once: the operator is told once.
    const holdCb = peer.conferences.callbacks.find(
      (c) => c.params.StatusCallbackEvent === 'participant-hold' && c.params.FriendlyName === call.callId,
    )!;
    await hooks.post(holdCb.url, holdCb.params);
    expect(client.of('call:hold_state').filter((p) => p.onHold)).toHaveLength(1);

    expect(await client.emit('call:hold', { callId: call.callId, hold: false })).toEqual({ ok: true, onHold: false });
    await client.next('call:hold_state', (p) => p.callId === call.callId && !p.onHold);
    expect(legOf(call.callId, 'caller')!.hold).toBe(false);
    await wall.next('queue:stats', (s) => s.liveCalls?.some((c: any) => c.callId === call.callId && c.onHoldSeconds === null));

    // Only the call's own operator holds it.
    const other = await operator(false);
    expect(await other.client.emit('call:hold', { callId: call.callId, hold: true })).toEqual({ ok: false, error: 'not_your_call' });
    expect(await client.emit('call:hold', { callId: call.callId, hold: 'yes' })).toEqual({
      ok: false,
      error: 'hold must be true or false',
    });
    await hangUp(call);
  });

  it('warm-transfers to a second operator: the first loses the caller and keeps read access, the second gains it, both audited', async () => {
    const a = await operator();
    const call = await acceptedCall(a.client);
    const b = await operator();

    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { operatorId: b.op.id } })).toEqual({ ok: true });
    await a.client.next('transfer:status', (p) => p.callId === call.callId && p.state === 'connected');
    await b.client.next('call:connected', (p) => p.callId === call.callId);
    // The three are in the conference, the caller on hold while the colleagues talk.
    expect(legOf(call.callId, `op:${b.op.id}`)).toBeDefined();
    expect(legOf(call.callId, 'caller')!.hold).toBe(true);
    // B may read the record now; before the handover, A still has the call.
    await eventually(async () => (await f.http().get(`/calls/${call.callId}`).set(bearer(b.op))).status === 200);

    expect(await a.client.emit('transfer:complete', { callId: call.callId })).toEqual({ ok: true });
    await a.client.next('call:ended', (p) => p.callId === call.callId);
    await a.client.next('status', (p) => p.status === 'wrap_up');
    await peer.conferences.settled();
    expect(legOf(call.callId, `op:${a.op.id}`)).toBeUndefined();
    expect(legOf(call.callId, `op:${b.op.id}`)).toBeDefined();
    expect(legOf(call.callId, 'caller')!.hold).toBe(false);
    // A's leaving did not end the call: it is B's now.
    expect(peer.conferences.live(call.callId)).toBeDefined();
    expect(await b.client.emit('call:hold', { callId: call.callId, hold: true })).toEqual({ ok: true, onHold: true });
    expect(await a.client.emit('call:hold', { callId: call.callId, hold: true })).toEqual({ ok: false, error: 'not_your_call' });

    await eventually(async () => (await callRow(call.callId))?.operator_id === b.op.id);
    expect((await f.http().get(`/calls/${call.callId}`).set(bearer(a.op))).status).toBe(200);
    expect((await f.http().post(`/calls/${call.callId}/notes`).set(bearer(a.op)).send({ text: 'late' })).status).toBe(404);
    expect((await f.http().post(`/calls/${call.callId}/notes`).set(bearer(b.op)).send({ text: 'handed over' })).status).toBe(201);
    const listed = await f.http().get('/calls').set(bearer(a.op));
    expect(listed.body.items.map((c: any) => c.callId)).toContain(call.callId);
    const trail = await audit(call.callId);
    expect(trail.find((e) => e.action === 'call.transfer')).toMatchObject({
      actor_id: a.op.id,
      detail: expect.objectContaining({ mode: 'warm', toStaffId: b.op.id }),
    });
    const grants = trail.filter((e) => e.action === 'call.access_granted').map((e) => e.detail.staffId);
    expect(grants).toEqual([b.op.id, a.op.id]);
    expect(trail.map((e) => e.action)).toEqual(expect.arrayContaining(['call.transfer_connected', 'call.transfer_completed']));

    await hangUp(call);
    await b.client.next('call:ended', (p) => p.callId === call.callId);
  });

  it('warm-transfers to a supervisor taking calls on the operator console', async () => {
    const a = await operator();
    const call = await acceptedCall(a.client);
    const sup = await f.staff('supervisor');
    const desk = await connectConsole(base, '/operator', sup.token);
    clients.push(desk);
    desk.socket.on('disconnect', consoleDevice(peer, desk, sup.id));
    await desk.next('status');
    expect(await desk.emit('status:set', { status: 'available' })).toEqual({ ok: true, status: 'available' });
    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { operatorId: sup.id } })).toEqual({ ok: true });
    await desk.next('call:connected', (p) => p.callId === call.callId);
    await a.client.next('transfer:status', (p) => p.callId === call.callId && p.state === 'connected');
    expect(await a.client.emit('transfer:complete', { callId: call.callId })).toEqual({ ok: true });
    await a.client.next('call:ended', (p) => p.callId === call.callId);
    expect(await desk.emit('call:hold', { callId: call.callId, hold: true })).toEqual({ ok: true, onHold: true });
    await hangUp(call);
    await desk.next('call:ended', (p) => p.callId === call.callId);
  });

  it('a warm transfer the target declines or does not answer returns the caller to the transferring operator, off hold', async () => {
    const a = await operator();
    const call = await acceptedCall(a.client);
    const b = await operator();
    peer.conferences.noAnswer.add(`client:op-${b.op.id}`);

    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { operatorId: b.op.id } })).toEqual({ ok: true });
    const failed = await a.client.next('transfer:status', (p) => p.callId === call.callId && p.state === 'failed');
    expect(failed.reason).toBe('no_answer');
    await peer.conferences.settled();
    expect(legOf(call.callId, 'caller')!.hold).toBe(false);
    expect(legOf(call.callId, `op:${a.op.id}`)).toBeDefined();
    // B is free again, and never got the record.
    await b.client.next('status', (p) => p.status === 'available');
    expect((await f.http().get(`/calls/${call.callId}`).set(bearer(b.op))).status).toBe(404);

    // Declined (busy) the same way; then the call is still A's and A can try again.
    peer.conferences.noAnswer.clear();
    peer.conferences.declines.add(`client:op-${b.op.id}`);
    const declinedFrom = a.client.events.length;
    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { operatorId: b.op.id } })).toEqual({ ok: true });
    expect(
      (await a.client.next('transfer:status', (p) => p.state === 'failed' && p.reason === 'declined', { after: declinedFrom })).callId,
    ).toBe(call.callId);
    expect(await a.client.emit('call:hold', { callId: call.callId, hold: false })).toEqual({ ok: true, onHold: false });
    // An operator who is not free cannot be transferred to.
    const away = await operator(false);
    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { operatorId: away.op.id } })).toEqual({
      ok: false,
      error: 'target_unavailable',
    });
    await hangUp(call);
  });

  it('a warm transfer the colleague leaves before the handover takes back the read access their joining gave (audited); a later one gives it again', async () => {
    const a = await operator();
    const call = await acceptedCall(a.client);
    const b = await operator();
    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { operatorId: b.op.id } })).toEqual({ ok: true });
    await b.client.next('call:connected', (p) => p.callId === call.callId);
    await peer.conferences.settled();
    await eventually(async () => (await f.http().get(`/calls/${call.callId}`).set(bearer(b.op))).status === 200);

    // B hangs up before A completes: released, the caller off hold and back with A.
    peer.conferences.hangUp(legOf(call.callId, `op:${b.op.id}`)!.callSid);
    const failed = await a.client.next('transfer:status', (p) => p.callId === call.callId && p.state === 'failed');
    expect(failed.reason).toBe('target_left');
    await peer.conferences.settled();
    expect(legOf(call.callId, 'caller')!.hold).toBe(false);
    await eventually(async () => (await f.http().get(`/calls/${call.callId}`).set(bearer(b.op))).status === 404);
    expect((await f.http().get('/calls').set(bearer(b.op))).body.items.map((c: any) => c.callId)).not.toContain(call.callId);
    const [grant] = await db.query('SELECT via, transfer_id, revoked_at FROM call_access WHERE call_id = ? AND staff_id = ?', [
      call.callId,
      b.op.id,
    ]);
    const [transfer] = await db.query('SELECT id, outcome FROM call_transfers WHERE call_id = ?', [call.callId]);
    expect(transfer.outcome).toBe('failed');
    expect(grant).toMatchObject({ via: 'transfer', transfer_id: transfer.id, revoked_at: expect.any(Date) });
    let trail = await audit(call.callId);
    expect(trail.filter((e) => e.action.startsWith('call.access_')).map((e) => [e.action, e.detail.staffId])).toEqual([
      ['call.access_granted', b.op.id],
      ['call.access_revoked', b.op.id],
    ]);
    expect(trail.find((e) => e.action === 'call.access_revoked')!.detail).toMatchObject({
      transferId: transfer.id,
      why: 'transfer_failed',
    });

    // A tries again and B stays to the handover: B's access is given again, then the call is theirs.
    await b.client.emit('wrapup:done', { callId: call.callId });
    expect(await b.client.emit('status:set', { status: 'available' })).toEqual({ ok: true, status: 'available' });
    // The colleague's leg can connect before the ack is back: look from before the emit.
    const mark = a.client.events.length;
    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { operatorId: b.op.id } })).toEqual({ ok: true });
    await a.client.next('transfer:status', (p) => p.callId === call.callId && p.state === 'connected', { after: mark });
    await eventually(async () => (await f.http().get(`/calls/${call.callId}`).set(bearer(b.op))).status === 200);
    expect(await a.client.emit('transfer:complete', { callId: call.callId })).toEqual({ ok: true });
    await eventually(async () => (await callRow(call.callId))?.operator_id === b.op.id);
    trail = await audit(call.callId);
    expect(trail.filter((e) => e.action.startsWith('call.access_')).map((e) => [e.action, e.detail.staffId])).toEqual([
      ['call.access_granted', b.op.id],
      ['call.access_revoked', b.op.id],
      ['call.access_granted', b.op.id],
      ['call.access_granted', a.op.id],
    ]);
    await hangUp(call);
  });

  it('cold-transfers to a named operator: the caller back in the queue, offered to them first; the first keeps read access', async () => {
    const a = await operator();
    const call = await acceptedCall(a.client);
    const b = await operator();

    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'cold', to: { operatorId: b.op.id } })).toEqual({ ok: true });
    await a.client.next('call:ended', (p) => p.callId === call.callId);
    // The caller is back in Twilio's queue (not in silence), the conference over.
    const requeue = [...peer.callUpdates].reverse().find((u) => u.callSid === call.callSid)!.params.Twiml;
    expect(requeue).toContain('<Enqueue');
    await peer.conferences.settled();
    expect(peer.conferences.live(call.callId)).toBeUndefined();

    await b.client.next('call:offered', (p) => p.callId === call.callId);
    expect(await b.client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    await b.client.next('call:connected', (p) => p.callId === call.callId);
    await peer.conferences.settled();
    expect(legOf(call.callId, `op:${b.op.id}`)).toBeDefined();
    expect(legOf(call.callId, 'caller')).toBeDefined();
    await eventually(async () => (await callRow(call.callId))?.operator_id === b.op.id);
    expect((await f.http().get(`/calls/${call.callId}`).set(bearer(a.op))).status).toBe(200);
    expect((await f.http().get(`/calls/${call.callId}`).set(bearer(b.op))).status).toBe(200);
    const t = (await db.query('SELECT mode, from_staff_id, to_staff_id, outcome FROM call_transfers WHERE call_id = ?', [call.callId]))[0];
    expect(t).toEqual({ mode: 'cold', from_staff_id: a.op.id, to_staff_id: b.op.id, outcome: 'completed' });
    await hangUp(call);
  });

  it('transfers to a directory entry: recorded by entry id and kind (never the number), an emergency one linked to the escalation', async () => {
    const a = await operator();
    const call = await acceptedCall(a.client);
    // The operator records a duty-to-warn escalation first (through records, as the console does).
    await eventually(async () => (await callRow(call.callId))?.operator_id === a.op.id);
    const esc = await f
      .http()
      .post(`/calls/${call.callId}/escalations`)
      .set(bearer(a.op))
      .send({ disclosedTo: 'Emergency services', legalBasis: 'vital interests', fieldsDisclosed: ['caller_location'] });
    expect(esc.status).toBe(201);

    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { directoryId: 'emergency-services' } })).toEqual({
      ok: true,
    });
    await a.client.next('transfer:status', (p) => p.callId === call.callId && p.state === 'connected');
    const ext = legOf(call.callId, 'ext:emergency-services')!;
    expect(ext.to).toBe('+15555550911');
    // Three-way: the operator stays on the line with the caller and the control room.
    expect(legOf(call.callId, `op:${a.op.id}`)).toBeDefined();

    const t = (await db.query('SELECT * FROM call_transfers WHERE call_id = ?', [call.callId]))[0];
    expect(t).toMatchObject({
      mode: 'external',
      from_staff_id: a.op.id,
      directory_id: 'emergency-services',
      directory_kind: 'emergency',
      escalation_id: esc.body.id,
    });
    const everything = JSON.stringify([t, await audit(call.callId)]);
    expect(everything).not.toContain('5555550911');

    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { directoryId: 'nobody' } })).toEqual({
      ok: false,
      error: 'transfer_in_progress',
    });
    await hangUp(call);
  });

  it('refuses an unknown directory entry and a malformed target', async () => {
    const a = await operator();
    const call = await acceptedCall(a.client);
    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { directoryId: 'nobody' } })).toEqual({
      ok: false,
      error: 'unknown_directory_entry',
    });
    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { number: '+15555550100' } })).toMatchObject({
      ok: false,
    });
    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'sideways' })).toMatchObject({ ok: false });
    await hangUp(call);
  });

  it('a supervisor listens, coaches and joins with reasons in the audit; the operator is told while it lasts', async () => {
    const a = await operator();
    const { sup, wall } = await supervisor();
    const call = await acceptedCall(a.client);

    // Ask for help: every wallboard hears it, with the risk level.
    expect(await a.client.emit('help:request', { callId: call.callId })).toEqual({ ok: true });
    const help = await wall.next('help:requested', (p) => p.callId === call.callId);
    expect(help).toMatchObject({ operatorId: a.op.id, riskLevel: 'none', waitingSeconds: expect.any(Number) });

    expect(await wall.emit('call:supervise', { callId: call.callId, mode: 'listen', reason: '' })).toMatchObject({ ok: false });
    expect(await wall.emit('call:supervise', { callId: call.callId, mode: 'listen', reason: 'new operator, high risk caller' })).toEqual({
      ok: true,
    });
    expect(await a.client.next('supervision', (p) => p.callId === call.callId)).toEqual({ callId: call.callId, mode: 'listen' });
    await peer.conferences.settled();
    const supLeg = legOf(call.callId, `sup:${sup.id}`)!;
    expect(supLeg).toMatchObject({ muted: true, coaching: false });

    expect(await wall.emit('call:supervise', { callId: call.callId, mode: 'coach', reason: 'suggest safety planning' })).toEqual({
      ok: true,
    });
    await a.client.next('supervision', (p) => p.callId === call.callId && p.mode === 'coach');
    // Audited before it took effect: the entry was there by the time the operator was told.
    expect((await audit(call.callId)).filter((e) => e.action === 'call.supervise').map((e) => e.detail.mode)).toEqual(['listen', 'coach']);
    const opLeg = legOf(call.callId, `op:${a.op.id}`)!;
    expect(legOf(call.callId, `sup:${sup.id}`)).toMatchObject({ muted: false, coaching: true, callSidToCoach: opLeg.callSid });

    expect(await wall.emit('call:supervise', { callId: call.callId, mode: 'join', reason: 'caller asked for a supervisor' })).toEqual({
      ok: true,
    });
    await a.client.next('supervision', (p) => p.callId === call.callId && p.mode === 'join');
    expect(legOf(call.callId, `sup:${sup.id}`)).toMatchObject({ muted: false, coaching: false });

    expect(await wall.emit('call:unsupervise', { callId: call.callId })).toEqual({ ok: true });
    await a.client.next('supervision:ended', (p) => p.callId === call.callId);
    await peer.conferences.settled();
    expect(legOf(call.callId, `sup:${sup.id}`)).toBeUndefined();
    expect(peer.conferences.live(call.callId)).toBeDefined();

    const trail = await audit(call.callId);
    expect(trail.filter((e) => e.action === 'call.supervise').map((e) => [e.actor_id, e.detail.mode, e.detail.reason])).toEqual([
      [sup.id, 'listen', 'new operator, high risk caller'],
      [sup.id, 'coach', 'suggest safety planning'],
      [sup.id, 'join', 'caller asked for a supervisor'],
    ]);
    expect(trail.some((e) => e.action === 'call.unsupervise')).toBe(true);
    expect(
      Number((await db.query('SELECT COUNT(*) AS n FROM call_supervisions WHERE call_id = ? AND ended_at IS NULL', [call.callId]))[0].n),
    ).toBe(0);

    // An operator cannot supervise; a second supervisor cannot take over another's supervision.
    await expect(connectConsole(base, '/supervisor', a.op.token)).rejects.toBeDefined();
    await hangUp(call);
  });

  it('an external transfer completed leaves the caller with the entry; the call ends when they are done', async () => {
    const a = await operator();
    const call = await acceptedCall(a.client);
    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { directoryId: 'interpreter-line' } })).toEqual({
      ok: true,
    });
    await a.client.next('transfer:status', (p) => p.callId === call.callId && p.state === 'connected');
    expect(await a.client.emit('transfer:complete', { callId: call.callId })).toEqual({ ok: true });
    await a.client.next('call:ended', (p) => p.callId === call.callId);
    await peer.conferences.settled();
    expect(legOf(call.callId, `op:${a.op.id}`)).toBeUndefined();
    expect(legOf(call.callId, 'caller')).toMatchObject({ hold: false });
    const ext = legOf(call.callId, 'ext:interpreter-line')!;
    // The interpreter hangs up: nobody of the hotline is left with the caller, so the call ends.
    peer.conferences.hangUp(ext.callSid);
    await peer.conferences.settled();
    expect(peer.conferences.named(call.callId)!.status).toBe('completed');
    expect((await db.query('SELECT outcome FROM call_transfers WHERE call_id = ?', [call.callId]))[0].outcome).toBe('completed');
    await callStatus(hooks, call, 'completed', 5);
  });

  it('a reconnecting console gets back the hold and the supervisor on its call', async () => {
    const a = await operator();
    const { wall } = await supervisor();
    const call = await acceptedCall(a.client);
    expect(await a.client.emit('call:hold', { callId: call.callId, hold: true })).toEqual({ ok: true, onHold: true });
    await a.client.next('call:hold_state', (p) => p.onHold);
    expect(await wall.emit('call:supervise', { callId: call.callId, mode: 'listen', reason: 'checking in on a long call' })).toEqual({
      ok: true,
    });
    await a.client.next('supervision', (p) => p.callId === call.callId);
    const again = await connectConsole(base, '/operator', a.op.token);
    clients.push(again);
    await again.next('call:connected', (p) => p.callId === call.callId);
    expect(await again.next('call:hold_state', (p) => p.callId === call.callId)).toMatchObject({ onHold: true, since: expect.any(String) });
    expect(await again.next('supervision', (p) => p.callId === call.callId)).toEqual({ callId: call.callId, mode: 'listen' });
    await again.next('transfer:targets');
    await hangUp(call);
    await a.client.next('supervision:ended', (p) => p.callId === call.callId);
  });

  it('refuses supervision without a reason, by a second supervisor, by an admin, and help asked for someone else’s call', async () => {
    const a = await operator();
    const first = await supervisor();
    const second = await supervisor();
    const call = await acceptedCall(a.client);
    for (const bad of [{ reason: '' }, { reason: '  ab ' }, { reason: 'x'.repeat(501) }, { reason: 42 }])
      expect(await first.wall.emit('call:supervise', { callId: call.callId, mode: 'listen', ...bad })).toMatchObject({ ok: false });
    expect(await first.wall.emit('call:supervise', { callId: call.callId, mode: 'shout', reason: 'a reason' })).toMatchObject({
      ok: false,
    });
    expect(await first.wall.emit('call:supervise', { callId: call.callId, mode: 'join', reason: 'the caller asked' })).toEqual({
      ok: true,
    });
    expect(await second.wall.emit('call:supervise', { callId: call.callId, mode: 'listen', reason: 'me too' })).toEqual({
      ok: false,
      error: 'already_supervised',
    });
    expect(await second.wall.emit('call:unsupervise', { callId: call.callId })).toEqual({ ok: false, error: 'not_supervising' });
    const admin = await f.staff('admin');
    const board = await connectConsole(base, '/supervisor', admin.token);
    clients.push(board);
    expect(await board.emit('call:supervise', { callId: call.callId, mode: 'listen', reason: 'curious' })).toEqual({
      ok: false,
      error: 'forbidden: supervisors only',
    });
    const other = await operator(false);
    expect(await other.client.emit('help:request', { callId: call.callId })).toEqual({ ok: false, error: 'not_your_call' });
    // Nothing of a refused attempt is on record: one supervision, by the first supervisor.
    const trail = await audit(call.callId);
    expect(trail.filter((e) => e.action === 'call.supervise').map((e) => e.actor_id)).toEqual([first.sup.id]);
    await hangUp(call);
  });

  it('works across gateway nodes: callbacks at one node reach the operator on another; help reaches every wallboard', async () => {
    const second = await startGatewayApp(env);
    try {
      const op = await f.staff('operator');
      const client = await connectConsole(second.base, '/operator', op.token);
      clients.push(client);
      client.socket.on('disconnect', consoleDevice(peer, client, op.id));
      await client.next('status');
      expect(await client.emit('status:set', { status: 'available' })).toEqual({ ok: true, status: 'available' });
      const { wall } = await supervisor(); // on the first node, where the peer posts every callback
      const call = await placeCall(second.hooks, { digits: '1' });
      await client.next('call:offered', (p) => p.callId === call.callId);
      expect(await client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
      await peer.conferences.settled();
      expect(await client.emit('call:hold', { callId: call.callId, hold: true })).toEqual({ ok: true, onHold: true });
      await client.next('call:hold_state', (p) => p.callId === call.callId && p.onHold);
      expect(await client.emit('help:request', { callId: call.callId })).toEqual({ ok: true });
      await wall.next('help:requested', (p) => p.callId === call.callId && p.operatorId === op.id);
      expect(await wall.emit('call:supervise', { callId: call.callId, mode: 'coach', reason: 'cross-node coaching' })).toEqual({
        ok: true,
      });
      expect(await client.next('supervision', (p) => p.callId === call.callId)).toEqual({ callId: call.callId, mode: 'coach' });
      await hangUp(call);
      await client.next('supervision:ended', (p) => p.callId === call.callId);
      await client.next('call:ended', (p) => p.callId === call.callId);
    } finally {
      second.hooks.close();
      await second.app.close();
    }
  });

  describe('meets Twilio as it behaves (issue 23)', () => {
    afterEach(() => peer.webhooks.lateBy.splice(0));

    it('tells the console it is connected only once the record knows who answered: a note saved at once is taken', async () => {
      // A browser takes a moment to ring and answer: the record must know the operator before the console says connected.
      const op = await f.staff('operator');
      const client = await connectConsole(base, '/operator', op.token);
      clients.push(client);
      client.socket.on('disconnect', consoleDevice(peer, client, op.id, { answerAfterMs: 400 }));
      await client.next('status');
      await client.emit('status:set', { status: 'available' });
      const call = await placeCall(hooks);
      await client.next('call:offered', (p) => p.callId === call.callId);
      expect(await client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
      await client.next('call:connected', (p) => p.callId === call.callId);
      // The moment the console shows the call, the operator writes: the record takes it.
      const note = await f.http().post(`/calls/${call.callId}/notes`).set(bearer(op)).send({ text: 'caller is safe for now' });
      expect(note.status).toBe(201);
      const ring = peer.devices.history.find((h) => h.customParameters.callId === call.callId)!;
      expect(ring).toMatchObject({ outcome: 'answered', customParameters: { purpose: 'offer', staffId: op.id } });
      await hangUp(call);
    });

    it('applies conference events by SequenceNumber: a hold delivered after the unhold does not put the caller back on hold', async () => {
      const { client } = await operator();
      const { wall } = await supervisor();
      const call = await acceptedCall(client);
      // Twilio delivers the hold event late, after the unhold that followed it.
      peer.webhooks.lateBy.push({ match: (p) => p.StatusCallbackEvent === 'participant-hold' && p.FriendlyName === call.callId, ms: 1500 });
      expect(await client.emit('call:hold', { callId: call.callId, hold: true })).toEqual({ ok: true, onHold: true });
      expect(await client.emit('call:hold', { callId: call.callId, hold: false })).toEqual({ ok: true, onHold: false });
      await peer.settled();
      expect(legOf(call.callId, 'caller')!.hold).toBe(false);
      // The operator was never told the caller is on hold now, and the wallboard agrees.
      expect(client.of('call:hold_state').filter((p) => p.callId === call.callId && p.onHold)).toEqual([]);
      const board = await wall.next('queue:stats', (s) => s.liveCalls?.some((c: any) => c.callId === call.callId), { seen: false });
      expect(board.liveCalls.find((c: any) => c.callId === call.callId).onHoldSeconds).toBeNull();
      await hangUp(call);
    });

    it('keeps a caller who waits alone in the conference hearing the wait music: its TwiML loops itself', async () => {
      // The operator's browser rings for a while (under its 20 s timeout, compressed here): the caller is in the conference first, alone.
      const op = await f.staff('operator');
      const client = await connectConsole(base, '/operator', op.token);
      clients.push(client);
      client.socket.on('disconnect', consoleDevice(peer, client, op.id, { answerAfterMs: 850 }));
      await client.next('status');
      await client.emit('status:set', { status: 'available' });
      const call = await placeCall(hooks);
      await client.next('call:offered', (p) => p.callId === call.callId);
      expect(await client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
      await client.next('call:connected', (p) => p.callId === call.callId);
      const caller = legOf(call.callId, 'caller')!;
      // Fetched again and again while alone (each round: the words, a pause, a <Redirect> back), never silence.
      expect(caller.waitFetches).toBeGreaterThanOrEqual(2);
      expect(peer.conferences.musicProblems).toEqual([]);
      await hangUp(call);
    });
  });

  describe('routing races, through conferences', () => {
    it('lets exactly one of 30 concurrent accepts win: one operator leg dialled, one conference, one caller move', async () => {
      const { op, client } = await operator();
      const others = await Promise.all([...Array(14)].map(() => operator(false)));
      const call = await placeCall(hooks);
      await client.next('call:offered', (p) => p.callId === call.callId);
      const acks = await Promise.all([
        ...[...Array(16)].map(() => client.emit('call:accept', { callId: call.callId })),
        ...others.map((o) => o.client.emit('call:accept', { callId: call.callId })),
      ]);
      expect(acks.filter((a) => a.ok)).toEqual([{ ok: true }]);
      expect(
        acks
          .filter((a) => !a.ok)
          .map((a) => a.error)
          .sort(),
      ).toEqual([...Array(15).fill('already_accepted'), ...Array(14).fill('taken_elsewhere')].sort());
      await peer.conferences.settled();
      expect(peer.callUpdates.filter((u) => u.callSid === call.callSid)).toHaveLength(1);
      expect([...peer.conferences.all.values()].filter((c) => c.friendlyName === call.callId)).toHaveLength(1);
      const legs = peer.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/Conferences/${call.callId}/Participants.json`));
      expect(legs.map((r) => r.params.Label)).toEqual([`op:${op.id}`]);
      await hangUp(call);
    });

    it('puts the caller back at the front of the queue when the operator’s browser never picks up its conference leg', async () => {
      const missing = await operator();
      peer.conferences.noAnswer.add(`client:op-${missing.op.id}`);
      const call = await placeCall(hooks);
      await missing.client.next('call:offered', (p) => p.callId === call.callId);
      expect(await missing.client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
      expect(await missing.client.next('status', (p) => p.status === 'away' && p.reason)).toEqual({
        status: 'away',
        reason: 'missed_call',
      });
      await peer.conferences.settled();
      // Back in Twilio's queue (never alone in a silent conference), and offered to the next operator.
      const back = [...peer.callUpdates].reverse().find((u) => u.callSid === call.callSid)!.params.Twiml;
      expect(twimlAttr(back, 'Enqueue', 'waitUrl')).toContain(`c=${call.callId}`);
      expect(peer.conferences.live(call.callId)).toBeUndefined();
      const other = await operator();
      await other.client.next('call:offered', (p) => p.callId === call.callId);
      expect(await other.client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
      await peer.conferences.settled();
      await eventually(async () => (await callRow(call.callId))?.operator_id === other.op.id);
      expect(legOf(call.callId, 'caller')).toBeDefined();
      await hangUp(call);
      await other.client.next('call:ended', (p) => p.callId === call.callId);
    });

    it('ends the conference when the caller is gone before the move, and the call is closed as abandoned', async () => {
      const { client } = await operator();
      const call = await placeCall(hooks);
      // The caller hangs up at Twilio; the gateway has not heard yet: updating the call answers 400/21220.
      peer.endQuietly(call.callSid);
      await client.next('call:offered', (p) => p.callId === call.callId);
      expect(await client.emit('call:accept', { callId: call.callId })).toEqual({ ok: false, error: 'connect_failed' });
      await peer.conferences.settled();
      expect(peer.conferences.live(call.callId)).toBeUndefined();
      await eventually(async () => (await callRow(call.callId))?.status === 'abandoned');
    });

    it('the operator hanging up ends the conference: the caller is not left alone in it', async () => {
      const { op, client } = await operator();
      const call = await acceptedCall(client);
      const opLeg = legOf(call.callId, `op:${op.id}`)!;
      peer.conferences.hangUp(opLeg.callSid);
      await peer.conferences.settled();
      expect(peer.conferences.named(call.callId)!.status).toBe('completed');
      expect(peer.conferences.eventsOf(call.callId).at(-1)).toBe('conference-end');
      await callStatus(hooks, call, 'completed', 5);
      await client.next('call:ended', (p) => p.callId === call.callId);
    });
  });
});
