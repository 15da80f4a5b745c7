import { INestApplication } from '@nestjs/common';
import { readFileSync, statSync } from 'fs';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { Env } from '@hotline/config';
import { randomUUID } from 'crypto';
import { CONTACT_KEYS_REDIS_KEY, ContactKeys, callerPseudonym, parsePublishedContactKey, sealContact } from '@hotline/crypto';
import { dumpAllText, openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { findLeaks, logCaptureFile, registerSecret } from '../support/log-capture';
import { TEST_SECRETS } from '../support/test-config';
import { TwilioPeer, randomSid } from '../support/twilio-peer';
import { ConsoleClient, TwilioWebhooks, baseUrlOf, callStatus, eventually, placeCall, testNumber, twimlAttr } from '../support/webhooks';
import { shortGraceRetentionFile } from '../support/privacy-call';
import { clearRouting, connectOperator, startGatewayApp } from '../support/gateway-app';
import { RecordsTestApp, startRecordsApp } from '../support/records-app';
import { callThroughEverything, callsAtTwilioOf, notDeleted } from './retention-support';

const PUBLIC_URL = 'https://hotline.example.test';
const ACCOUNT = TEST_SECRETS.TWILIO_ACCOUNT_SID;
const PRIVACY_LINE = '+15550002222';

/** Every key of the test's Redis database with its value, as text. */
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

/**
 * A caller makes two hotline calls, bridged in conferences as production bridges them: the first
 * through everything a call opens at Twilio (answered, a supervisor listening, a warm transfer, the
 * conference recorded, a follow-up call placed back to the caller), the second plainly; then asks by
 * phone for their records to be deleted. Once the request is carried out, nothing anywhere links the
 * number to those calls: not the databases, Redis, the logs, nor Twilio (the local peer), where every
 * Call of those calls (each conference leg, the callback and its leg) and the recording are deleted.
 */
describe('a deletion by phone leaves no trace of the caller', () => {
  let peer: TwilioPeer;
  let gateway: INestApplication;
  let worker: INestApplication;
  let records: RecordsTestApp;
  let env: Env;
  let hooks: TwilioWebhooks;
  let db: DataSource;
  let keys: DataSource;
  let closeDb: () => Promise<void>;
  let redis: Redis;
  let logStart = 0;
  const clients: ConsoleClient[] = [];

  beforeAll(async () => {
    try {
      logStart = statSync(logCaptureFile()).size;
    } catch {
      logStart = 0;
    }
    peer = await new TwilioPeer(ACCOUNT, TEST_SECRETS.TWILIO_AUTH_TOKEN).start();
    const common = {
      TWILIO_API_URL: peer.url,
      PUBLIC_URL,
      RETENTION_CONFIG: shortGraceRetentionFile(),
      // Twilio refuses (20009) to delete a call for a while after its end: the peer for 1.5 s (Twilio: at least a minute).
      TWILIO_DELETE_RETRY_MS: String(peer.realism.deleteRefusalMs),
    };
    env = envFor(common);
    ({ db, keys, close: closeDb } = await openTestDataSources());
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    // The worker publishes the one-time contact keys the gateway seals numbers to: it starts first.
    worker = await createWorkerApp(envFor({ ...common, SMS_DELETE_AFTER_SECONDS: '1' }));
    await worker.init();
    // Records places the follow-up call back to the caller.
    records = await startRecordsApp(common);
    ({ app: gateway, hooks } = await startGatewayApp(env));
  });

  afterAll(async () => {
    clients.forEach((c) => c.close());
    hooks?.close();
    await gateway?.close();
    await records?.close();
    await worker?.close();
    await peer?.stop();
    await redis?.quit();
    await closeDb?.();
  });

  it('seals a number to a one-time contact key that opens it, for its request only, until the key is destroyed', async () => {
    const contactKeys = new ContactKeys(keys, env);
    await contactKeys.publish(redis);
    const published = parsePublishedContactKey(await redis.lpop(CONTACT_KEYS_REDIS_KEY))!;
    expect(published).toEqual({ id: expect.any(String), key: expect.stringContaining('PUBLIC KEY') });
    const requestId = randomUUID();
    const sealed = sealContact(published.key, '+447700900123', requestId);
    expect(sealed.toString('latin1')).not.toContain('447700900123');
    expect(await contactKeys.open(published.id, sealed, requestId)).toBe('+447700900123');
    expect(await contactKeys.open(published.id, sealed, randomUUID())).toBeNull();
    await contactKeys.destroy(published.id);
    expect(await contactKeys.open(published.id, sealed, requestId)).toBeNull();
    // The next key is another: no two requests share one.
    const next = parsePublishedContactKey(await redis.lindex(CONTACT_KEYS_REDIS_KEY, 0))!;
    expect(next.id).not.toBe(published.id);
    expect(await contactKeys.open(next.id, sealed, requestId)).toBeNull();
  });

  it('deletes every Call of the caller at Twilio (every conference leg, the callback and its leg) and the recording, the callback within seconds of its end, and leaves neither the number nor its pseudonym anywhere', async () => {
    const from = testNumber();
    registerSecret('number', from);
    const pseudonym = callerPseudonym(Buffer.from(TEST_SECRETS.PSEUDONYM_KEY, 'base64'), from);
    const short = `C-${pseudonym.slice(0, 6).toUpperCase()}`;

    // The first call, through everything: operator A, a supervisor listening, a warm transfer to B, recorded, then a follow-up placed back.
    const first = await callThroughEverything({ peer, hooks, base: baseUrlOf(gateway), f: records.f, db, clients, from });
    // The callback's Call (its record at Twilio holds the number) and its leg are deleted by a job of their
    // own once Twilio allows it: seconds after their end, long before any deletion is asked for.
    await eventually(async () => peer.calls.get(first.callbackSid)?.deleted, 15_000).catch(() => undefined);
    expect([peer.calls.get(first.callbackSid)?.deleted, Date.now() - first.callbackEndedAt < 8_000]).toEqual([true, true]);
    expect(notDeleted(peer.legsOf(first.callbackSid).map((sid) => peer.calls.get(sid)!))).toEqual([]);
    expect(peer.callsWith(from).map((c) => c.sid)).toEqual([first.callSid]);

    // The second: answered by another operator's browser leg, recording declined.
    const { client } = await connectOperator(baseUrlOf(gateway), env, { track: clients });
    const second = await placeCall(hooks, { from, digits: '2' });
    await client.next('call:offered', (p) => p.callId === second.callId);
    expect(await client.emit('call:accept', { callId: second.callId })).toEqual({ ok: true });
    await client.next('call:connected', (p) => p.callId === second.callId);
    await peer.settled();
    peer.conferences.hangUp(second.callSid);
    await peer.settled();
    expect((await callStatus(hooks, second, 'completed', 9)).status).toBe(200);
    await client.next('call:ended', (p) => p.callId === second.callId);
    expect(await client.emit('wrapup:done', { callId: second.callId, category: 'emotional support' })).toEqual({ ok: true });
    await eventually(async () => (await db.query('SELECT ended_at FROM calls WHERE id = ?', [second.callId]))[0]?.ended_at);
    const hotline = [first.callSid, second.callSid];
    // Before the deletion, the trail of the caller is there to find (so the scan below means something).
    expect(await dumpAllText(db)).toContain(pseudonym);

    // The privacy line: delete, the code from the SMS, confirm; then the caller hangs up.
    const privacySid = randomSid('CA');
    peer.registerCall(privacySid, from, PRIVACY_LINE);
    const params = (extra: Record<string, string> = {}) => ({
      AccountSid: ACCOUNT,
      CallSid: privacySid,
      From: from,
      To: PRIVACY_LINE,
      CallStatus: 'in-progress',
      Direction: 'inbound',
      ...extra,
    });
    let twiml = (await hooks.post('/twilio/voice/privacy', params())).text;
    const press = async (digits: string) => {
      const action = twimlAttr(twiml, 'Gather', 'action');
      if (!action) throw new Error(`no Gather in ${twiml}`);
      const res = await hooks.post(action, params({ Digits: digits }));
      expect(res.status).toBe(200);
      twiml = res.text;
    };
    await press('1');
    const code = peer.messagesTo(from).at(-1)!.body.slice(-6);
    registerSecret('code', code);
    await press(code);
    expect(twiml).toContain('Records of your calls that will be deleted: 2.');
    await press('1');
    expect(twiml).toContain('<Hangup/>');
    expect((await callStatus(hooks, { callSid: privacySid, from }, 'completed', 5)).status).toBe(200);

    // The worker carries it out after the grace period: the request ends with nothing of the caller.
    const [{ id: requestId, contact_key_id: contactKey, contact_enc: sealed }] = await db.query(
      'SELECT id, contact_key_id, contact_enc FROM deletion_requests WHERE caller_pseudonym = ?',
      [pseudonym],
    );
    // The number for the closing SMS, sealed to a one-time key of this request's own (kept in the keystore).
    expect(sealed).toBeInstanceOf(Buffer);
    expect(await keys.query('SELECT id FROM contact_keys WHERE id = ?', [contactKey])).toHaveLength(1);
    const done = await eventually(async () => {
      const [r] = await db.query('SELECT * FROM deletion_requests WHERE id = ?', [requestId]);
      return r.status === 'done' && !r.contact_enc && !r.contact_key_id ? r : null;
    }, 20000);
    expect(done).toMatchObject({ calls_deleted: 2, calls_held: 0, caller_pseudonym: null });
    // Its one-time contact key is gone with the closing SMS: the sealed number, wherever a copy lies, cannot be opened.
    expect(await keys.query('SELECT id FROM contact_keys WHERE id = ?', [contactKey])).toEqual([]);
    const closing = await eventually(async () => peer.messagesTo(from).find((m) => m.body === 'Your request has been carried out.'));
    await eventually(async () => peer.messagesTo(from).every((m) => m.deleted) && closing.deleted);

    // Every Call of the caller's calls at Twilio is deleted: the caller's own (both hotline calls, the
    // privacy-line call), every leg of their conferences (operators, transfer target, supervisor), the
    // callback and its leg; and the conference's recording.
    const { calls: callsOfTheCaller, recordings } = callsAtTwilioOf(peer, {
      callIds: [first.callId, second.callId],
      callSids: [...hotline, privacySid],
      outboundSids: [first.callbackSid],
    });
    await eventually(async () => notDeleted(callsOfTheCaller).length === 0, 20_000).catch(() => undefined);
    expect(notDeleted(callsOfTheCaller)).toEqual([]);
    // Both callers' calls, the privacy-line call, A, the supervisor and B, the second call's operator, the callback and its leg.
    expect(callsOfTheCaller.length).toBeGreaterThanOrEqual(9);
    expect(recordings).toHaveLength(1);
    expect(peer.deletedRecordings).toEqual(expect.arrayContaining(recordings));
    const certificates: { call_id: string; steps: string | object }[] = await db.query(
      'SELECT call_id, steps FROM deletion_certificates WHERE deletion_request_id = ?',
      [requestId],
    );
    expect(certificates.map((c) => c.call_id).sort()).toEqual([first.callId, second.callId].sort());
    await eventually(async () => {
      const rows: { steps: string | object }[] = await db.query('SELECT steps FROM deletion_certificates WHERE deletion_request_id = ?', [
        requestId,
      ]);
      return rows.every((c) => JSON.stringify(c.steps).includes('call_at_twilio'));
    });
    for (const c of await db.query('SELECT steps FROM deletion_certificates WHERE deletion_request_id = ?', [requestId])) {
      const steps = (typeof c.steps === 'string' ? JSON.parse(c.steps) : c.steps) as { step: string }[];
      expect(steps.map((s) => s.step)).toEqual(expect.arrayContaining(['call_leg_at_twilio', 'call_at_twilio', 'data_key', 'rows']));
    }

    // The scan: both databases, Redis, the logs, what Twilio (the peer) still holds.
    const needles = [from.slice(1), pseudonym, short];
    const inDatabases = (await dumpAllText(db)) + '\n' + (await dumpAllText(keys));
    const inRedis = await dumpRedis(redis);
    const logs = readFileSync(logCaptureFile()).subarray(logStart).toString('utf8');
    const atTwilio = JSON.stringify({
      calls: peer.callsWith(from).map((c) => ({ sid: c.sid, from: c.from, to: c.to })),
      messages: peer.messages.filter((m) => !m.deleted),
    });
    for (const [where, text] of Object.entries({ inDatabases, inRedis, logs, atTwilio })) {
      for (const needle of needles) expect([where, text.toLowerCase().includes(needle.toLowerCase())]).toEqual([where, false]);
    }
    expect(findLeaks(logs, [{ kind: 'number', value: from }])).toEqual([]);
    // The logs hold these apps' lines, the deletion included (a clean scan means something).
    expect(logs).toContain('deletion request carried out');
    expect(JSON.parse(atTwilio).calls).toEqual([]);
  });
});
