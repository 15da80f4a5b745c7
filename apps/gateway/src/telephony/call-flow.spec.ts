import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import { RoutingStore } from '@hotline/routing';
import { envFor } from '../../../../test/support/env-for';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../../../../test/support/gateway-app';
import { TwilioPeer } from '../../../../test/support/twilio-peer';
import { TwilioWebhooks, twimlAttr } from '../../../../test/support/webhooks';
import { CallFlowService } from './call-flow.service';

const WITHHELD = '+266696687';

/**
 * The call flow's seams (the gateway built as it runs, Redis and MySQL real, the realistic Twilio
 * peer): what CallFlowService hands routing, the record and the TwiML for the answers a caller or
 * Twilio can give at the menu. The whole path is in test/e2e/gateway-call-flow.e2e-spec.ts.
 */
describe('call flow seams', () => {
  let app: INestApplication;
  let peer: TwilioPeer;
  let hooks: TwilioWebhooks;
  let redis: Redis;
  let flow: CallFlowService;
  let store: RoutingStore;

  beforeAll(async () => {
    peer = await startTwilioPeer();
    const env = envFor({ TWILIO_API_URL: peer.url, PUBLIC_URL: 'https://hotline.example.test', CALL_BRIDGE: 'conference' });
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    ({ app, hooks } = await startGatewayApp(env));
    flow = app.get(CallFlowService);
    store = app.get(RoutingStore);
  });

  afterAll(async () => {
    await app?.close();
    hooks?.close();
    await peer?.stop();
    await redis?.quit();
  });

  const sid = () => 'CA' + randomUUID().replace(/-/g, '');

  it('a consent answer without a CallSid Twilio could have sent still puts the caller in the queue at Twilio, and registers nothing', async () => {
    const callId = randomUUID();
    const twiml = await flow.consent({ c: callId, t: String(Date.now()) }, { Digits: '1', CallSid: 'not-a-sid', From: '+15550001111' });
    expect(twimlAttr(twiml, 'Enqueue', 'waitUrl')).toContain(`c=${callId}`);
    expect(await store.call(callId)).toBeNull();
  });

  it('a consent answer registers the caller in routing by pseudonym, whatever the caller ID (a withheld one included)', async () => {
    const callId = randomUUID();
    const callSid = sid();
    const twiml = await flow.consent({ c: callId, t: String(Date.now()) }, { Digits: '2', CallSid: callSid, From: WITHHELD });
    expect(twimlAttr(twiml, 'Enqueue', 'waitUrl')).toContain(`c=${callId}`);
    const call = await store.call(callId);
    expect(call).toMatchObject({ callSid, recordingConsent: false });
    expect(JSON.stringify(call)).not.toContain(WITHHELD.slice(1));
  });

  it('9 at the menu leads to the privacy line; an unknown key replays the menu once, then the caller is queued without consent', async () => {
    const callId = randomUUID();
    const t = String(Date.now());
    expect(twimlAttr(await flow.consent({ c: callId, t }, { Digits: '9', CallSid: sid() }), 'Redirect', 'method')).toBe('POST');
    expect(await flow.consent({ c: callId, t }, { Digits: '9', CallSid: sid() })).toContain('/twilio/voice/privacy');
    const again = await flow.consent({ c: callId, t }, { Digits: '7', CallSid: sid() });
    expect(twimlAttr(again, 'Gather', 'action')).toContain('n=1');
    const queued = await flow.consent({ c: callId, t, n: '1' }, { Digits: '7', CallSid: sid(), From: '+15550002222' });
    expect(twimlAttr(queued, 'Enqueue', 'waitUrl')).toContain(`c=${callId}`);
    expect((await store.call(callId))!.recordingConsent).toBe(false);
  });
});
