/**
 * Offer to connected: a conference against the direct <Dial>, in one run (issue 14). An operator is
 * offered a call and accepts; timed from the accept to the moment both parties are bridged and the
 * gateway has taken every callback that says so:
 *  - direct: the caller's `<Dial><Client>` update at Twilio, then the Client leg's `answered`
 *    callback (posted as Twilio would, at once);
 *  - conference: the operator's leg dialled into the conference (REST), the caller's update to
 *    `<Dial><Conference>`, then the leg's `answered`, `conference-start` and both `participant-join`
 *    callbacks (the local peer posts them, signed, in order).
 * Also the accept's own ack (the REST calls the gateway makes before it answers the console).
 * Rounds alternate the two bridges on fresh gateways (same Redis, same MySQL), after a warm-up, so
 * drift on a shared machine falls on both. The local peer answers in microseconds: what is measured
 * is the gateway's own cost of the conference path (one more REST call, four more callbacks), not
 * Twilio's media setup.
 */
import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { createGatewayApp } from '../apps/gateway/src/bootstrap';
import { RoutingStore } from '@hotline/routing';
import { envFor } from '../test/support/env-for';
import { TEST_SECRETS } from '../test/support/test-config';
import { TwilioPeer } from '../test/support/twilio-peer';
import {
  ConsoleClient,
  TwilioWebhooks,
  baseUrlOf,
  callStatus,
  connectConsole,
  placeCall,
  staff,
  twimlAttr,
} from '../test/support/webhooks';
import { Bench, BenchRow } from './types';

const CALLS = Number(process.env.CONFERENCE_BENCH_CALLS ?? 60);
const ROUNDS = 3;
const WARM_UP = 10;
const PUBLIC_URL = 'https://hotline.example.test';
type Bridge = 'direct' | 'conference';

const bench: Bench = async () => {
  const peer = await new TwilioPeer(TEST_SECRETS.TWILIO_ACCOUNT_SID, TEST_SECRETS.TWILIO_AUTH_TOKEN).start();
  const redis = new Redis(envFor().REDIS_URL);
  const store = new RoutingStore(redis, { offerTimeoutMs: 30000, graceMs: 1000, serviceLevelMs: 30000, timeZone: 'UTC' });
  const results: Record<Bridge, { ack: number[]; connected: number[] }> = {
    direct: { ack: [], connected: [] },
    conference: { ack: [], connected: [] },
  };
  try {
    const run = async (bridge: Bridge, calls: number, keep: boolean) => {
      await store.clear();
      const env = envFor({ TWILIO_API_URL: peer.url, PUBLIC_URL, CALL_BRIDGE: bridge, OFFER_TIMEOUT_SECONDS: '30' });
      const app: INestApplication = await createGatewayApp(env);
      await app.listen(0, '127.0.0.1');
      const hooks = TwilioWebhooks.for(app, env);
      peer.conferences.deliverTo = { publicUrl: PUBLIC_URL, gatewayUrl: baseUrlOf(app) };
      let client: ConsoleClient | undefined;
      try {
        client = await connectConsole(baseUrlOf(app), '/operator', staff(env, 'operator').token);
        await client.next('status');
        await client.emit('status:set', { status: 'available' });
        for (let i = 0; i < calls; i++) {
          const call = await placeCall(hooks, { digits: '2' });
          await client.next('call:offered', (p) => p.callId === call.callId, { timeoutMs: 5000 });
          const t0 = performance.now();
          const ack = await client.emit('call:accept', { callId: call.callId });
          const tAck = performance.now();
          if (!ack.ok) throw new Error(`accept refused: ${JSON.stringify(ack)}`);
          if (bridge === 'direct') {
            // Twilio dials the browser leg and posts its `answered` callback.
            const update = [...peer.callUpdates].reverse().find((u) => u.callSid === call.callSid)!;
            const answered = twimlAttr(update.params.Twiml, 'Client', 'statusCallback')!;
            await hooks.post(answered, { CallSid: 'CA' + '1'.repeat(32), ParentCallSid: call.callSid, CallStatus: 'in-progress' });
          } else {
            await peer.conferences.settled();
            if (peer.conferences.live(call.callId)?.participants.size !== 2) throw new Error('the conference does not hold both legs');
          }
          const t1 = performance.now();
          if (keep) {
            results[bridge].ack.push(tAck - t0);
            results[bridge].connected.push(t1 - t0);
          }
          peer.conferences.hangUp(call.callSid);
          await peer.conferences.settled();
          await callStatus(hooks, call, 'completed', 2);
          await client.next('call:ended', (p) => p.callId === call.callId, { timeoutMs: 5000 });
          await client.emit('wrapup:done', { callId: call.callId });
        }
      } finally {
        client?.close();
        hooks.close();
        await app.close();
      }
    };
    await run('direct', WARM_UP, false);
    await run('conference', WARM_UP, false);
    for (let r = 0; r < ROUNDS; r++) {
      const order: Bridge[] = r % 2 ? ['conference', 'direct'] : ['direct', 'conference'];
      for (const b of order) await run(b, Math.ceil(CALLS / ROUNDS), true);
    }
  } finally {
    await peer.stop();
    await redis.quit();
  }
  const q = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(p * s.length))];
  };
  const row = (what: 'connected' | 'ack', label: string): BenchRow => {
    const c = results.conference[what];
    const d = results.direct[what];
    const ratio = q(c, 0.5) / q(d, 0.5);
    return {
      name: `${label}: conference against direct <Dial>`,
      value: q(c, 0.5),
      unit: 'ms p50',
      floor: { name: 'direct <Dial> p50', value: q(d, 0.5), unit: 'ms' },
      ratio,
      target: 'conference p99 < 250 ms',
      pass: q(c, 0.99) < 250,
      goal: { on: 'value', below: 250 },
      notes: `conference p50 ${q(c, 0.5).toFixed(1)} / p99 ${q(c, 0.99).toFixed(1)} ms; direct p50 ${q(d, 0.5).toFixed(1)} / p99 ${q(d, 0.99).toFixed(1)} ms; ${c.length} + ${d.length} calls, ${ROUNDS} alternating rounds after a warm-up`,
    };
  };
  return [
    row('connected', 'accept to connected (both legs bridged, callbacks taken)'),
    row('ack', 'accept to ack (REST before the console hears back)'),
  ];
};

export default bench;
