/**
 * Offer latency: from the caller's consent webhook (the moment the call is enqueued) to
 * `call:offered` on the operator's socket, with 100 operators connected and available, through the
 * real gateway (signature check, Redis enqueue and match scripts, socket.io over the Redis adapter).
 * Calls arrive in waves of WAVE, one every ARRIVAL_GAP_MS (100 calls a second, far above any
 * hotline's peak); between waves the callers hang up so that operators are free again.
 */
import Redis from 'ioredis';
import { createGatewayApp } from '../apps/gateway/src/bootstrap';
import { RoutingStore } from '@hotline/routing';
import { envFor } from '../test/support/env-for';
import { TEST_SECRETS } from '../test/support/test-config';
import { TwilioPeer, randomSid } from '../test/support/twilio-peer';
import {
  ConsoleClient,
  TwilioWebhooks,
  baseUrlOf,
  callStatus,
  connectConsole,
  eventually,
  staff,
  testNumber,
  twimlAttr,
} from '../test/support/webhooks';
import { Bench, BenchRow } from './types';

const OPERATORS = 100;
const CALLS = Number(process.env.OFFER_BENCH_CALLS ?? 600);
const WAVE = 10;
const ARRIVAL_GAP_MS = 10;

const bench: Bench = async () => {
  const peer = await new TwilioPeer(TEST_SECRETS.TWILIO_ACCOUNT_SID, TEST_SECRETS.TWILIO_AUTH_TOKEN).start();
  const env = envFor({ TWILIO_API_URL: peer.url, OFFER_TIMEOUT_SECONDS: '30' });
  const redis = new Redis(env.REDIS_URL);
  await new RoutingStore(redis, { offerTimeoutMs: 30000, graceMs: 1000, serviceLevelMs: 30000, timeZone: 'UTC' }).clear();
  const app = await createGatewayApp(env);
  await app.listen(0, '127.0.0.1');
  const hooks = TwilioWebhooks.for(app, env);
  const clients: ConsoleClient[] = [];
  try {
    const waiting = new Map<string, (at: number) => void>();
    for (let i = 0; i < OPERATORS; i++) {
      const c = await connectConsole(baseUrlOf(app), '/operator', staff(env, 'operator').token);
      c.socket.on('call:offered', (p: { callId: string }) => waiting.get(p.callId)?.(performance.now()));
      clients.push(c);
      await c.emit('status:set', { status: 'available' });
    }
    // Each call's menu step is done beforehand; what is timed is consent (enqueue) to offer.
    const latencies: number[] = [];
    for (let done = 0; done < CALLS; done += WAVE) {
      const wave = await Promise.all(
        Array.from({ length: WAVE }, async () => {
          const call = { callSid: randomSid('CA'), from: testNumber() };
          const incoming = await hooks.post('/twilio/voice/incoming', { CallSid: call.callSid, From: call.from });
          return { ...call, action: twimlAttr(incoming.text, 'Gather', 'action')! };
        }),
      );
      const timed = await Promise.all(
        wave.map(async (c, i) => {
          await new Promise((r) => setTimeout(r, i * ARRIVAL_GAP_MS));
          const callId = new URL(c.action).searchParams.get('c')!;
          const offered = new Promise<number>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`call ${callId} not offered within 5 s`)), 5000);
            waiting.set(callId, (at) => (clearTimeout(timer), resolve(at)));
          });
          const t0 = performance.now();
          await hooks.post(c.action, { CallSid: c.callSid, From: c.from, Digits: '2' });
          const latency = (await offered) - t0;
          waiting.delete(callId);
          return { c, latency };
        }),
      );
      for (const t of timed) latencies.push(t.latency);
      await Promise.all(timed.map((t) => callStatus(hooks, t.c, 'completed', 2)));
      await eventually(async () => (await redis.zcard('hl:{rt}:available')) === OPERATORS, 5000, 2);
      // Let the hang-ups' record writes drain: what is timed is the offer, not the previous wave's end.
      await new Promise((r) => setTimeout(r, 100));
    }
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
    const rows: BenchRow[] = [
      {
        name: `offer latency, enqueue to call:offered (${OPERATORS} operators connected)`,
        value: q(0.99),
        unit: 'ms p99',
        target: '< 50 ms',
        pass: q(0.99) < 50,
        goal: { on: 'value', below: 50 },
        notes: `p50 ${q(0.5).toFixed(2)} ms, max ${latencies[latencies.length - 1].toFixed(2)} ms, ${latencies.length} calls in waves of ${WAVE}, one every ${ARRIVAL_GAP_MS} ms`,
      },
    ];
    return rows;
  } finally {
    for (const c of clients) c.close();
    hooks.close();
    await app.close();
    await peer.stop();
    await redis.quit();
  }
};

export default bench;
