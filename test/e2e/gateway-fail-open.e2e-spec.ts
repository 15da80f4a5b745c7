import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env } from '@hotline/config';
import { DEFAULT_ROUTING_PREFIX } from '@hotline/routing';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { TcpProxy } from '../support/tcp-proxy';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import {
  ConsoleClient,
  TwilioWebhooks,
  callStatus,
  eventually,
  placeCall,
  twimlAttr,
  operatorAnswers,
  twimlText,
} from '../support/webhooks';
import { clearRouting, connectOperator, startGatewayApp, startTwilioPeer } from '../support/gateway-app';

/** Fail open for the caller: with MySQL or Redis cut off, a caller still hears the notice and reaches the queue. */
describe('gateway with a dependency away', () => {
  let peer: TwilioPeer;
  let db: DataSource;
  let closeDb: () => Promise<void>;
  let redis: Redis;
  const apps: INestApplication[] = [];
  const proxies: TcpProxy[] = [];
  const clients: ConsoleClient[] = [];

  const callRow = (callId: string) => db.query('SELECT * FROM calls WHERE id = ?', [callId]).then((r: any[]) => r[0]);

  async function gateway(
    overrides: Record<string, string>,
  ): Promise<{ app: INestApplication; env: Env; hooks: TwilioWebhooks; base: string }> {
    const env = envFor({ TWILIO_API_URL: peer.url, OFFER_TIMEOUT_SECONDS: '5', ...overrides });
    const gateway = await startGatewayApp(env);
    apps.push(gateway.app);
    return gateway;
  }

  function availableOperator(env: Env, base: string) {
    return connectOperator(base, env, { track: clients });
  }

  beforeAll(async () => {
    peer = await startTwilioPeer();
    ({ db, close: closeDb } = await openTestDataSources());
    redis = new Redis(TEST_REDIS_URL);
  });

  beforeEach(async () => {
    await clearRouting(redis);
  });

  afterEach(async () => {
    while (clients.length) clients.pop()!.close();
    while (apps.length) await apps.pop()!.close();
    while (proxies.length) await proxies.pop()!.close();
  });

  afterAll(async () => {
    await peer?.stop();
    await closeDb?.();
    await redis?.quit();
  });

  it('starts without MySQL, takes and connects a call, and puts it on record once MySQL is back', async () => {
    const mysql = await TcpProxy.forUrl(TEST_DATABASE_URL);
    proxies.push(mysql);
    mysql.cut();
    const { env, hooks, base } = await gateway({ DATABASE_URL: mysql.rewrite(TEST_DATABASE_URL) });
    expect((await fetch(`${base}/health`)).status).toBe(503);

    const { op, client } = await availableOperator(env, base);
    const call = await placeCall(hooks, { digits: '1' });
    expect(call.enqueueTwiml).toContain('>hotline</Enqueue>');
    await client.next('call:offered', (p) => p.callId === call.callId);
    expect(await client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    await operatorAnswers(hooks, peer, call);
    const connected = await client.next('call:connected', (p) => p.callId === call.callId);
    // Nothing about the caller can be looked up, and consent to record cannot be checked: no recording.
    expect(connected.caller).toBeUndefined();
    const dial = peer.callUpdates.find((u) => u.callSid === call.callSid)!.params.Twiml;
    expect(twimlText(dial, 'Conference')).toBe(call.callId);
    expect(twimlAttr(dial, 'Conference', 'record')).toBeNull();
    await callStatus(hooks, call, 'completed', 4);
    await client.next('call:ended', (p) => p.callId === call.callId);
    expect(mysql.refused).toBeGreaterThan(0);
    expect(await callRow(call.callId)).toBeUndefined();

    mysql.restore();
    // The queued writes are retried each on its own backoff, so they land in any order.
    const row = await eventually(
      async () => {
        const r = await callRow(call.callId);
        return r?.ended_at && r.operator_id ? r : null;
      },
      20000,
      200,
    );
    expect(row).toMatchObject({ call_sid: call.callSid, operator_id: op.id, status: 'completed', recording_consent: 1, last_sequence: 4 });
    expect(row.answered_at).toBeInstanceOf(Date);
    expect(await db.query("SELECT granted FROM consents WHERE call_id = ? AND kind = 'recording'", [call.callId])).toEqual([
      { granted: 1 },
    ]);
  }, 40000);

  it('enqueues the caller at Twilio while Redis is away, and offers the call once Redis is back', async () => {
    const proxy = await TcpProxy.forUrl(TEST_REDIS_URL);
    proxies.push(proxy);
    const { env, hooks, base } = await gateway({ REDIS_URL: proxy.rewrite(TEST_REDIS_URL) });
    const { client } = await availableOperator(env, base);

    proxy.cut();
    const call = await placeCall(hooks, { digits: '2' });
    expect(call.enqueueTwiml).toContain('>hotline</Enqueue>');
    // MySQL was there: the call is on record though routing never heard of it.
    expect(await eventually(() => callRow(call.callId))).toMatchObject({ status: 'queued' });
    expect(await redis.zscore(DEFAULT_ROUTING_PREFIX + 'live', call.callId)).toBeNull();
    const wait = await hooks.post(call.waitUrl, { CallSid: call.callSid, From: call.from, QueuePosition: '1' });
    expect(wait.status).toBe(200);
    expect(wait.text).toContain('Someone will be with you soon');

    proxy.restore();
    // Twilio keeps asking the wait URL while the caller waits; that re-registers the call.
    await eventually(
      async () => {
        await hooks.post(call.waitUrl, { CallSid: call.callSid, From: call.from, QueuePosition: '1' });
        return client.of('call:offered').some((p) => p.callId === call.callId);
      },
      20000,
      500,
    );
    expect(await client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    expect(peer.callUpdates.filter((u) => u.callSid === call.callSid)).toHaveLength(1);
    await operatorAnswers(hooks, peer, call);
    await eventually(async () => (await callRow(call.callId))?.status === 'connected');
    await callStatus(hooks, call, 'completed', 3);
    await client.next('call:ended', (p) => p.callId === call.callId);
  }, 40000);
});
