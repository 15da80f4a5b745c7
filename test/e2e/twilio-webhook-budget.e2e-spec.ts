import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { Env } from '@hotline/config';
import { envFor } from '../support/env-for';
import { clearRouting, connectOperator, startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { PrivacyCall } from '../support/privacy-call';
import { TwilioPeer } from '../support/twilio-peer';
import { ConsoleClient, TwilioWebhooks, callStatus, eventually, placeCall, testNumber } from '../support/webhooks';

const PUBLIC_URL = 'https://hotline.example.test';
/** Twilio's REST API, very slow: every request is answered after 20 s (Twilio gives up on a webhook after 15). */
const SLOW_MS = 20_000;
/** What every /twilio/* answer must keep to, whatever Twilio's REST API does. */
const ANSWER_MS = 5000;

describe('every webhook answers within 5 s while Twilio’s REST API takes 20 s (issue 23)', () => {
  let peer: TwilioPeer;
  let env: Env;
  let app: INestApplication;
  let hooks: TwilioWebhooks;
  let base: string;
  let redis: Redis;
  const clients: ConsoleClient[] = [];

  beforeAll(async () => {
    peer = await startTwilioPeer();
    env = envFor({ TWILIO_API_URL: peer.url, PUBLIC_URL, CALL_BRIDGE: 'conference' });
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    ({ app, base, hooks } = await startGatewayApp(env));
  });

  afterEach(() => {
    peer.restDelayMs = 0;
    while (clients.length) clients.pop()!.close();
  });

  afterAll(async () => {
    peer.restDelayMs = 0;
    await app?.close();
    hooks?.close();
    await peer?.stop().catch(() => undefined);
    await redis?.quit();
  });

  it('the privacy line asked for a code answers in time and tells the caller no code could be sent', async () => {
    const c = new PrivacyCall(hooks, testNumber());
    await c.answer();
    expect(c.twiml).toContain('<Gather');

    peer.restDelayMs = SLOW_MS;
    const started = Date.now();
    await c.press('1');
    const took = Date.now() - started;
    console.log(`privacy-line code request answered in ${took} ms with Twilio's REST API at ${SLOW_MS} ms`);
    expect(took).toBeLessThan(ANSWER_MS);
    expect(c.says).toContain('We could not send a code just now');
    expect(c.ended).toBe(true);
    // Twilio was asked (and is still "thinking"): the SMS was tried, not skipped.
    expect(peer.requests.some((r) => r.method === 'POST' && r.path.endsWith('/Messages.json'))).toBe(true);
  });

  it('a transfer target that does not answer: the conference callback answers in time while the gateway takes the caller off hold', async () => {
    const a = await connectOperator(base, env, { track: clients, peer });
    const call = await placeCall(hooks, { digits: '2' });
    await a.client.next('call:offered', (p) => p.callId === call.callId);
    expect(await a.client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    await a.client.next('call:connected', (p) => p.callId === call.callId);
    await peer.conferences.settled();
    const b = await connectOperator(base, env, { track: clients, peer });
    peer.conferences.noAnswer.add(`client:op-${b.op.id}`);

    expect(await a.client.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { operatorId: b.op.id } })).toEqual({ ok: true });
    // The target's leg rings (1 s here); from now on every REST request takes 20 s.
    peer.restDelayMs = SLOW_MS;
    const slowFrom = Date.now();
    const failed = await a.client.next('transfer:status', (p) => p.callId === call.callId && p.state === 'failed', { timeoutMs: 15_000 });
    expect(failed.reason).toBe('no_answer');
    // The console hears of the failure while the gateway is still answering the callback: wait for the answer.
    const missed = await eventually(
      async () =>
        peer.webhooks.deliveries.find(
          (d) =>
            d.url.includes('/twilio/conference/leg') &&
            d.params.CallStatus === 'no-answer' &&
            d.url.includes(`i=${b.op.id}`) &&
            d.status !== 0,
        ),
      ANSWER_MS + 1000,
    );
    console.log(`conference leg callback (no-answer) answered in ${missed.ms} ms with Twilio's REST API at ${SLOW_MS} ms`);
    expect(missed.status).toBe(200);
    expect(missed.ms).toBeLessThan(ANSWER_MS);
    // The gateway did ask Twilio to take the caller off hold and to remove the target's leg.
    const afterTransfer = peer.requests.filter((r) => r.at >= slowFrom && r.path.includes('/Participants/'));
    expect(afterTransfer.some((r) => r.method === 'POST' && r.params.Hold === 'false')).toBe(true);

    peer.restDelayMs = 0;
    peer.conferences.hangUp(call.callSid);
    await callStatus(hooks, call, 'completed', 9);
    await a.client.next('call:ended', (p) => p.callId === call.callId);
  });

  it('every webhook Twilio sent was answered within 5 s, and the peer saw no late answer', async () => {
    await peer.webhooks.settled();
    const slowest = Math.max(...peer.webhooks.deliveries.filter((d) => d.status > 0).map((d) => d.ms));
    console.log(`slowest webhook answer: ${slowest} ms over ${peer.webhooks.deliveries.length} deliveries`);
    expect(slowest).toBeLessThan(ANSWER_MS);
    expect(peer.webhooks.failures).toEqual([]);
    await expect(peer.stop()).resolves.toBeUndefined();
  });
});
