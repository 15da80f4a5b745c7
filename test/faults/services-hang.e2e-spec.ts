import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { RoutingStore } from '@hotline/routing';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { startGatewayApp, startTwilioPeer, testRoutingStore } from '../support/gateway-app';
import { TcpProxy } from '../support/tcp-proxy';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import { TwilioWebhooks, eventually, placeCall } from '../support/webhooks';

/**
 * MySQL or Redis does not refuse but hangs (connections accepted, no byte answered) or goes slow
 * (every packet two seconds late). A caller must still reach the queue within Twilio's 15 s webhook
 * limit (Twilio gives up on a slower answer and the caller hears an error), and once the service is
 * back nothing is lost: the call is on record, and in routing once Twilio asks the wait URL again.
 */
const PUBLIC_URL = 'https://hotline.example.test';
const TWILIO_WEBHOOK_LIMIT_MS = 15_000;

type Service = 'mysql' | 'redis';
type Fault = 'blackhole' | 'slow';

describe.each([
  ['mysql', 'blackhole'],
  ['mysql', 'slow'],
  ['redis', 'blackhole'],
  ['redis', 'slow'],
] as [Service, Fault][])('%s %s', (service, fault) => {
  let app: INestApplication;
  let hooks: TwilioWebhooks;
  let peer: TwilioPeer;
  let proxy: TcpProxy;
  let db: DataSource;
  let closeDb: () => Promise<void>;
  let direct: Redis;
  let store: RoutingStore;

  beforeAll(async () => {
    peer = await startTwilioPeer();
    proxy = await TcpProxy.forUrl(service === 'mysql' ? TEST_DATABASE_URL : TEST_REDIS_URL);
    const env = envFor({
      ...(service === 'mysql' ? { DATABASE_URL: proxy.rewrite(TEST_DATABASE_URL) } : { REDIS_URL: proxy.rewrite(TEST_REDIS_URL) }),
      TWILIO_API_URL: peer.url,
      PUBLIC_URL,
    });
    ({ app, hooks } = await startGatewayApp(env));
    ({ db, close: closeDb } = await openTestDataSources());
    direct = new Redis(TEST_REDIS_URL);
    store = testRoutingStore(direct);
  });

  afterAll(async () => {
    proxy?.restore();
    await app?.close();
    await proxy?.close();
    await peer?.stop();
    await closeDb?.();
    await direct?.quit();
  });

  it('gets the caller to the queue within Twilio’s webhook limit, and loses nothing once it is back', async () => {
    if (fault === 'blackhole') proxy.blackhole();
    else proxy.slow(2000);
    const started = Date.now();
    const call = await placeCall(hooks, { digits: '1' });
    // Two webhooks (the notice and menu, then the answer): each must come back in time; both together do here.
    expect(Date.now() - started).toBeLessThan(TWILIO_WEBHOOK_LIMIT_MS);
    expect(call.enqueueTwiml).toContain('>hotline</Enqueue>');

    proxy.restore();
    // On record: written directly or replayed from the queue once MySQL answers again.
    const row = await eventually(
      async () => (await db.query('SELECT status, call_sid FROM calls WHERE id = ?', [call.callId]))[0],
      45_000,
      250,
    );
    expect(row).toMatchObject({ call_sid: call.callSid, status: 'queued' });
    // In routing: Twilio asks the wait URL again on each loop of the hold music, which (re-)registers the call.
    await eventually(
      async () => {
        await hooks.post(call.waitUrl, { CallSid: call.callSid, From: call.from, CallStatus: 'in-progress', QueueTime: '20' });
        return (await store.call(call.callId))?.state === 'waiting';
      },
      30_000,
      500,
    );
    await store.clear();
  }, 120_000);
});
