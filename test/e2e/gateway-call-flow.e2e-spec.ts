import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env } from '@hotline/config';
import { alertsChannel } from '@hotline/events';
import { DEFAULT_ROUTING_PREFIX } from '@hotline/routing';
import { dumpAllText, openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { TEST_SECRETS } from '../support/test-config';
import { TwilioPeer, randomSid, signTwilioRequest } from '../support/twilio-peer';
import {
  ConsoleClient,
  TwilioWebhooks,
  callStatus,
  connectConsole,
  eventually,
  placeCall,
  staff,
  twimlAttr,
  twimlText,
  operatorAnswers,
} from '../support/webhooks';
import { clearRouting, connectOperator, startGatewayApp, startTwilioPeer } from '../support/gateway-app';

const PUBLIC_URL = 'https://hotline.example.test';

/**
 * The call flow, and the direct <Dial> bridge's own suite (the fallback when Twilio cannot create a
 * conference): every other suite runs production's conference bridge.
 */
describe('gateway call flow (the direct <Dial> bridge)', () => {
  let app: INestApplication;
  let env: Env;
  let peer: TwilioPeer;
  let hooks: TwilioWebhooks;
  let base: string;
  let db: DataSource;
  let closeDb: () => Promise<void>;
  let redis: Redis;
  const clients: ConsoleClient[] = [];

  function operator(available = true, voice = true) {
    return connectOperator(base, env, { available, track: clients, voice });
  }

  const callRow = (callId: string) => db.query('SELECT * FROM calls WHERE id = ?', [callId]).then((r: any[]) => r[0]);

  beforeAll(async () => {
    peer = await startTwilioPeer();
    env = envFor({
      TWILIO_API_URL: peer.url,
      PUBLIC_URL,
      CALL_BRIDGE: 'direct',
      OFFER_TIMEOUT_SECONDS: '2',
      TWILIO_API_KEY_SID: 'SK' + 'a'.repeat(32),
      TWILIO_API_KEY_SECRET: 'api-key-secret-for-tests-only',
      TWILIO_TWIML_APP_SID: 'AP' + 'b'.repeat(32),
    });
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    ({ app, base, hooks } = await startGatewayApp(env));
    ({ db, close: closeDb } = await openTestDataSources());
  });

  afterEach(() => {
    while (clients.length) clients.pop()!.close();
  });

  afterAll(async () => {
    await app?.close();
    await peer?.stop();
    await closeDb?.();
    await redis?.quit();
  });

  it('takes a consenting call from ringing to wrap-up: queued, offered, accepted, dialled with recording, ended, available again', async () => {
    // No voice device: the test answers the operator's ringing leg itself.
    const { op, client } = await operator(true, false);
    const call = await placeCall(hooks, { digits: '1' });
    expect(call.enqueueTwiml).toContain('>hotline</Enqueue>');
    expect(twimlAttr(call.enqueueTwiml, 'Enqueue', 'waitUrl')).toMatch(new RegExp(`^${PUBLIC_URL}/twilio/voice/wait\\?`));

    const offer = await client.next('call:offered', (p) => p.callId === call.callId);
    expect(Date.parse(offer.offerExpiresAt)).toBeGreaterThan(Date.now() - 1000);
    expect(offer.waitingSeconds).toBeGreaterThanOrEqual(0);
    expect(client.of('status').at(-1)).toEqual({ status: 'offered' });

    const opened = await eventually(() => callRow(call.callId));
    expect(opened).toMatchObject({ call_sid: call.callSid, status: 'queued', recording_consent: 1, operator_id: null });
    expect(opened.caller_pseudonym).toMatch(/^[0-9a-f]{64}$/);
    const [consent] = await db.query("SELECT granted, wording_version FROM consents WHERE call_id = ? AND kind = 'recording'", [
      call.callId,
    ]);
    expect(consent).toMatchObject({ granted: 1, wording_version: expect.any(String) });

    expect(await client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    const update = peer.callUpdates.find((u) => u.callSid === call.callSid)!;
    expect(twimlAttr(update.params.Twiml, 'Dial', 'record')).toBe('record-from-answer-dual');
    expect(twimlAttr(update.params.Twiml, 'Dial', 'recordingStatusCallback')).toBe(`${PUBLIC_URL}/twilio/recording/status`);
    expect(twimlText(update.params.Twiml, 'Identity')).toBe(`op-${op.id}`);
    // Twilio took the update, but the operator's leg has not answered yet: not on record as answered,
    // and the console is not told it is connected.
    await peer.settled();
    expect(await callRow(call.callId)).toMatchObject({ operator_id: null, answered_at: null });
    expect(client.of('call:connected')).toEqual([]);
    await operatorAnswers(hooks, peer, call);
    const connected = await client.next('call:connected', (p) => p.callId === call.callId);
    expect(connected.caller).toEqual({ pseudonym: expect.stringMatching(/^C-[0-9A-F]{6}$/), earlierCalls: 0, lastRiskLevel: null });
    expect(await callRow(call.callId)).toMatchObject({ operator_id: op.id, status: 'connected', answered_at: expect.any(Date) });
    await client.next('status', (p) => p.status === 'on_call');

    expect((await callStatus(hooks, call, 'completed', 4)).status).toBe(200);
    await client.next('call:ended', (p) => p.callId === call.callId);
    await client.next('status', (p) => p.status === 'wrap_up');
    await eventually(async () => (await callRow(call.callId)).ended_at);
    expect(await callRow(call.callId)).toMatchObject({ status: 'completed', last_sequence: 4 });

    expect(await client.emit('wrapup:done', { callId: call.callId, category: 'emotional support' })).toEqual({ ok: true });
    await client.next('status', (p) => p.status === 'available');
    await eventually(async () => (await callRow(call.callId)).wrapup_category === 'emotional support');

    // The number is nowhere in the records database, only its pseudonym.
    expect(await dumpAllText(db)).not.toContain(call.from.slice(1));

    // The same caller again: the operator is told it is a returning caller, and nothing more.
    const again = await placeCall(hooks, { digits: '2', from: call.from });
    await client.next('call:offered', (p) => p.callId === again.callId);
    expect(await client.emit('call:accept', { callId: again.callId })).toEqual({ ok: true });
    await operatorAnswers(hooks, peer, again);
    const second = await client.next('call:connected', (p) => p.callId === again.callId);
    expect(second.caller).toEqual({ pseudonym: connected.caller.pseudonym, earlierCalls: 1, lastRiskLevel: 'none' });
    // Declined consent: the caller is connected without a recording.
    const dial = peer.callUpdates.find((u) => u.callSid === again.callSid)!.params.Twiml;
    expect(twimlText(dial, 'Identity')).toBe(`op-${op.id}`);
    expect(twimlAttr(dial, 'Dial', 'record')).toBeNull();
    expect(dial).not.toContain('recordingStatusCallback');
    await callStatus(hooks, again, 'completed', 3);
    await client.next('call:ended', (p) => p.callId === again.callId);
  });

  it('puts the caller back at the front of the queue when the operator’s browser never picks up', async () => {
    // No voice device answers this operator's leg: it rings out, and Twilio asks the <Dial action>.
    const missing = await operator(true, false);
    const call = await placeCall(hooks);
    await missing.client.next('call:offered', (p) => p.callId === call.callId);
    expect(await missing.client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    const other = await operator();
    expect(await missing.client.next('status', (p) => p.status === 'away' && p.reason)).toEqual({ status: 'away', reason: 'missed_call' });
    expect(peer.devices.history.find((h) => h.customParameters.callId === call.callId)?.outcome).toBe('no-answer');
    // Back in Twilio's queue (the Dial action's TwiML), and offered to the next operator.
    await eventually(async () =>
      twimlAttr(peer.calls.get(call.callSid)!.documents.at(-1)!.twiml, 'Enqueue', 'waitUrl')?.includes(call.callId),
    );
    await other.client.next('call:offered', (p) => p.callId === call.callId);
    expect(await other.client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    await other.client.next('call:connected', (p) => p.callId === call.callId);
    // The missed leg never put the first operator on record; the answered one does.
    await eventually(async () => (await callRow(call.callId))?.operator_id === other.op.id);

    // The caller hangs up: the dial's end is the call's end.
    peer.hangUp(call.callSid);
    await other.client.next('call:ended', (p) => p.callId === call.callId);
    await eventually(async () => (await callRow(call.callId))?.status === 'completed');
  });

  it('treats silence as declining, and 9 as the way to the privacy line', async () => {
    const silent = await placeCall(hooks, { digits: '' });
    expect(silent.enqueueTwiml).toContain('will not be recorded');
    expect(await eventually(() => callRow(silent.callId))).toMatchObject({ recording_consent: 0 });

    const incoming = await hooks.post('/twilio/voice/incoming', { CallSid: randomSid('CA'), From: '+15550001234' });
    expect(incoming.status).toBe(200);
    expect(incoming.text).toContain('confidential');
    const nine = await hooks.post(twimlAttr(incoming.text, 'Gather', 'action')!, {
      CallSid: randomSid('CA'),
      From: '+15550001234',
      Digits: '9',
    });
    expect(twimlText(nine.text, 'Redirect')).toBe(`${PUBLIC_URL}/twilio/voice/privacy`);
    const privacy = await hooks.post('/twilio/voice/privacy', { CallSid: randomSid('CA'), From: '+15550001234' });
    expect(privacy.status).toBe(200);
    expect(privacy.text).toContain('<Say');
    await callStatus(hooks, silent, 'completed', 2);
  });

  it('refuses unsigned, forged and replayed-elsewhere webhooks with 403 and changes nothing', async () => {
    const callSid = randomSid('CA');
    const params = { CallSid: callSid, From: '+15550009876', Digits: '1' };
    const consentPath = `/twilio/voice/consent?c=${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}&t=${Date.now()}`;
    const validForIncoming = signTwilioRequest(TEST_SECRETS.TWILIO_AUTH_TOKEN, `${PUBLIC_URL}/twilio/voice/incoming`, params);
    const waitingBefore = await redis.zcard(DEFAULT_ROUTING_PREFIX + 'waiting');
    const attempts = [
      hooks.post('/twilio/voice/incoming', params, { signature: null }),
      hooks.post('/twilio/voice/incoming', params, { signature: 'bm90IGEgc2lnbmF0dXJl' }),
      hooks.post(consentPath, params, { signature: validForIncoming }),
      hooks.post(consentPath, params, { signature: signTwilioRequest('another-account-token-000000', PUBLIC_URL + consentPath, params) }),
      hooks.post('/twilio/voice/status', { CallSid: callSid, CallStatus: 'completed', SequenceNumber: '1' }, { signature: null }),
      hooks.post('/twilio/recording/status', { CallSid: callSid, RecordingSid: randomSid('RE') }, { signature: 'x' }),
      hooks.post('/twilio/voice/no-such-path', params, { signature: null }),
    ];
    // A signed body whose parameters were changed on the way.
    const signed = signTwilioRequest(TEST_SECRETS.TWILIO_AUTH_TOKEN, PUBLIC_URL + consentPath, params);
    attempts.push(hooks.post(consentPath, { ...params, Digits: '2' }, { signature: signed }));
    for (const res of await Promise.all(attempts)) expect(res).toEqual({ status: 403, text: 'Forbidden' });

    expect(await redis.keys(`*${callSid}*`)).toEqual([]);
    expect(await redis.zcard(DEFAULT_ROUTING_PREFIX + 'waiting')).toBe(waitingBefore);
    expect(await db.query('SELECT id FROM calls WHERE call_sid = ?', [callSid])).toEqual([]);
  });

  it('applies status callbacks once, whatever their order, and links recordings to their call', async () => {
    const { client } = await operator();
    const call = await placeCall(hooks);
    await client.next('call:offered', (p) => p.callId === call.callId);
    await client.emit('call:accept', { callId: call.callId });
    await client.next('call:connected', (p) => p.callId === call.callId);

    const recordingSid = randomSid('RE');
    expect(
      (await hooks.post('/twilio/recording/status', { CallSid: call.callSid, RecordingSid: recordingSid, RecordingStatus: 'completed' }))
        .status,
    ).toBe(200);
    await hooks.post('/twilio/recording/status', { CallSid: call.callSid, RecordingSid: recordingSid, RecordingStatus: 'completed' });
    const recordings = await eventually(async () => {
      const rows = await db.query(
        'SELECT r.call_id, r.retention_deadline, c.retention_deadline AS call_deadline FROM recordings r JOIN calls c ON c.id = r.call_id WHERE r.recording_sid = ?',
        [recordingSid],
      );
      return rows.length ? rows : null;
    });
    expect(recordings).toHaveLength(1);
    expect(recordings[0].call_id).toBe(call.callId);
    expect(recordings[0].retention_deadline.getTime()).toBeLessThanOrEqual(recordings[0].call_deadline.getTime());

    await Promise.all([callStatus(hooks, call, 'completed', 6), callStatus(hooks, call, 'completed', 6)]);
    await callStatus(hooks, call, 'in-progress', 3);
    await client.next('call:ended', (p) => p.callId === call.callId);
    await eventually(async () => (await callRow(call.callId)).ended_at);
    await new Promise((r) => setTimeout(r, 200));
    expect(client.of('call:ended').filter((p) => p.callId === call.callId)).toHaveLength(1);
    expect((await callRow(call.callId)).last_sequence).toBe(6);
    expect(await db.query("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'call.ended' AND target_id = ?", [call.callId])).toEqual([
      { n: 1 },
    ]);
  });

  it('refuses console sockets without a valid token or with the wrong role', async () => {
    await expect(connectConsole(base, '/operator', undefined)).rejects.toThrow(/unauthorized/);
    await expect(connectConsole(base, '/operator', staff(env, 'operator').token + 'x')).rejects.toThrow(/unauthorized/);
    await expect(connectConsole(base, '/operator', staff(env, 'auditor').token)).rejects.toThrow(/forbidden/);
    await expect(connectConsole(base, '/supervisor', staff(env, 'operator').token)).rejects.toThrow(/forbidden/);
    const sup = await connectConsole(base, '/supervisor', staff(env, 'admin').token);
    clients.push(sup);
    await sup.next('queue:stats', () => true);
  });

  it('gives the wallboard queue stats on connect and after changes, and relays escalation alerts', async () => {
    const sup = await connectConsole(base, '/supervisor', staff(env, 'supervisor').token);
    clients.push(sup);
    const first = await sup.next('queue:stats', () => true);
    expect(first).toMatchObject({ waiting: 0, operators: expect.any(Object), answeredToday: expect.any(Number) });

    const call = await placeCall(hooks);
    const waiting = await sup.next('queue:stats', (s) => s.waiting === 1);
    expect(waiting.waitingCalls).toEqual([{ callId: call.callId, waitingSeconds: expect.any(Number) }]);
    expect(JSON.stringify(waiting)).not.toContain(call.from.slice(2));

    const { op } = await operator();
    const mine = (s: any) => s.operatorList.find((o: any) => o.id === op.id);
    const offered = await sup.next('queue:stats', (s) => mine(s)?.status === 'offered');
    expect(mine(offered)).toEqual({ id: op.id, name: op.username, status: 'offered', sinceSeconds: expect.any(Number) });
    expect(offered.operators.offered).toBe(1);
    await callStatus(hooks, call, 'completed', 2);
    const after = await sup.next('queue:stats', (s) => s.waiting === 0 && mine(s)?.status === 'available');
    expect(after.abandonedToday).toBeGreaterThanOrEqual(1);

    const alert = { callId: call.callId, operatorId: op.id, riskLevel: 'imminent', at: new Date().toISOString() };
    await redis.publish(alertsChannel(redis.options.db), JSON.stringify({ type: 'escalation', alert }));
    expect(await sup.next('alert:escalation')).toEqual(alert);
  });

  it('issues a Twilio Voice token for the operator’s browser leg', async () => {
    const op = staff(env, 'operator');
    expect((await fetch(`${base}/voice/token`)).status).toBe(401);
    expect((await fetch(`${base}/voice/token`, { headers: { authorization: `Bearer ${staff(env, 'auditor').token}` } })).status).toBe(403);
    const res = await fetch(`${base}/voice/token`, { headers: { authorization: `Bearer ${op.token}` } });
    expect(res.status).toBe(200);
    const body: any = await res.json();
    expect(body.identity).toBe(`op-${op.id}`);
    const claims = JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString());
    expect(claims.grants).toMatchObject({
      identity: `op-${op.id}`,
      voice: { incoming: { allow: true }, outgoing: { application_sid: env.TWILIO_TWIML_APP_SID } },
    });
  });
});
