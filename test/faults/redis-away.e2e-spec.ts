import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env } from '@hotline/config';
import { RoutingStore } from '@hotline/routing';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { TcpProxy } from '../support/tcp-proxy';
import { TEST_REDIS_URL } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import { ConsoleClient, SimulatedCall, TwilioWebhooks, baseUrlOf, callStatus, eventually, placeCall } from '../support/webhooks';
import { connectOperator, startGatewayApp, startTwilioPeer, testRoutingStore } from '../support/gateway-app';

/**
 * Redis goes away (a TCP proxy between the gateway and Redis is cut): callers still hear the
 * notice and are enqueued in Twilio's own queue by the TwiML, and their call is opened in MySQL;
 * once Redis returns, Twilio's next poll of the wait URL brings each waiting call back into
 * routing and it is offered. A caller who hung up meanwhile is not offered.
 */
const PUBLIC_URL = 'https://hotline.example.test';

describe('Redis away', () => {
  let app: INestApplication;
  let env: Env;
  let peer: TwilioPeer;
  let proxy: TcpProxy;
  let hooks: TwilioWebhooks;
  let db: DataSource;
  let closeDb: () => Promise<void>;
  let direct: Redis;
  let store: RoutingStore;
  const clients: ConsoleClient[] = [];

  beforeAll(async () => {
    peer = await startTwilioPeer();
    proxy = await TcpProxy.forUrl(TEST_REDIS_URL);
    env = envFor({ REDIS_URL: proxy.rewrite(TEST_REDIS_URL), TWILIO_API_URL: peer.url, PUBLIC_URL, OFFER_TIMEOUT_SECONDS: '20' });
    direct = new Redis(TEST_REDIS_URL);
    store = testRoutingStore(direct);
    await store.clear();
    ({ app, hooks } = await startGatewayApp(env));
    ({ db, close: closeDb } = await openTestDataSources());
  });

  afterAll(async () => {
    proxy?.restore();
    while (clients.length) clients.pop()!.close();
    await app?.close();
    await proxy?.close();
    await peer?.stop();
    await closeDb?.();
    await store?.clear();
    await direct?.quit();
  });

  /** Twilio asks the wait URL on every loop of the hold music; here, until `done` says stop. */
  function twilioPolls(call: SimulatedCall, done: () => boolean): Promise<void> {
    return (async () => {
      for (let i = 0; i < 200 && !done(); i++) {
        await hooks.post(call.waitUrl, { CallSid: call.callSid, From: call.from, CallStatus: 'in-progress', QueueTime: String(i) });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
  }

  it('enqueues callers by TwiML while Redis is away, and offers them once it is back; a caller who hung up meanwhile is not offered', async () => {
    const { client } = await connectOperator(baseUrlOf(app), env, { track: clients });

    proxy.cut();
    const waiting = await placeCall(hooks, { digits: '1' });
    const gone = await placeCall(hooks, { digits: '2' });
    for (const c of [waiting, gone]) {
      expect(c.enqueueTwiml).toContain('>hotline</Enqueue>');
      expect(c.waitUrl).toContain('/twilio/voice/wait');
    }
    // MySQL is up: both calls are opened there even though routing could not take them.
    await eventually(
      async () => (await db.query('SELECT COUNT(*) AS n FROM calls WHERE id IN (?, ?)', [waiting.callId, gone.callId]))[0].n == 2,
    );
    // One caller gives up before Redis returns (Twilio's status callback for a call still in its queue).
    expect((await callStatus(hooks, gone, 'completed', 3)).status).toBe(200);
    expect(client.of('call:offered')).toEqual([]);
    // Routing really never heard of them.
    expect(await store.call(waiting.callId)).toBeNull();
    expect(await store.call(gone.callId)).toBeNull();

    proxy.restore();
    let offered = false;
    const polling = twilioPolls(waiting, () => offered);
    const offer = await client.next('call:offered', (p) => p.callId === waiting.callId, { timeoutMs: 40_000 });
    offered = true;
    await polling;
    expect(offer.callId).toBe(waiting.callId);
    expect(await client.emit('call:accept', { callId: waiting.callId })).toEqual({ ok: true });
    await client.next('call:connected', (p) => p.callId === waiting.callId);
    expect(peer.callUpdates.some((u) => u.callSid === waiting.callSid)).toBe(true);

    // The one who hung up is not in routing, was never offered, and is on record as abandoned.
    expect(client.of('call:offered').map((p) => p.callId)).not.toContain(gone.callId);
    const goneState = await store.call(gone.callId);
    expect(goneState === null || goneState.state !== 'waiting').toBe(true);
    const row = await eventually(
      async () =>
        (await db.query('SELECT status, ended_at FROM calls WHERE id = ?', [gone.callId]))[0]?.ended_at &&
        (await db.query('SELECT status FROM calls WHERE id = ?', [gone.callId]))[0],
    );
    expect(row.status).toBe('abandoned');

    await callStatus(hooks, waiting, 'completed', 6);
    await client.next('call:ended', (p) => p.callId === waiting.callId);
  }, 90_000);
});
