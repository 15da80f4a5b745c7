/**
 * Supervisor fan-out: from a queue change (a caller enqueued by the consent webhook, or hanging
 * up) to `queue:stats` showing it on each of 100 wallboards connected to `/supervisor`, through
 * the real gateway (Redis-computed snapshot, coalesced). The contract asks for the snapshot within
 * one second of any change; the gateway coalesces changes for 300 ms on purpose. The floor is a
 * bare socket.io server broadcasting one message to 100 sockets on the same loopback.
 */
import { createServer } from 'http';
import { AddressInfo } from 'net';
import Redis from 'ioredis';
import { Server } from 'socket.io';
import { io, Socket } from 'socket.io-client';
import { RoutingStore } from '@hotline/routing';
import { createGatewayApp } from '../apps/gateway/src/bootstrap';
import { envFor } from '../test/support/env-for';
import { TEST_SECRETS } from '../test/support/test-config';
import { TwilioPeer, randomSid } from '../test/support/twilio-peer';
import {
  ConsoleClient,
  TwilioWebhooks,
  baseUrlOf,
  callStatus,
  connectConsole,
  staff,
  testNumber,
  twimlAttr,
} from '../test/support/webhooks';
import { Bench, BenchRow } from './types';

const SUPERVISORS = 100;
const CHANGES = Number(process.env.FANOUT_BENCH_CHANGES ?? 30);

const quantile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

/** The same fan-out without the gateway: one emit to SUPERVISORS sockets, time until each has it. */
async function bareFloor(): Promise<number[]> {
  const http = createServer();
  const server = new Server(http, { transports: ['websocket'] });
  const wall = server.of('/wall');
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/wall`;
  const sockets: Socket[] = [];
  const latencies: number[] = [];
  try {
    for (let i = 0; i < SUPERVISORS; i++) {
      const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
      sockets.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
    }
    for (let n = 0; n < CHANGES; n++) {
      const arrived = Promise.all(sockets.map((s) => new Promise<number>((r) => s.once('stats', () => r(performance.now())))));
      const t0 = performance.now();
      wall.emit('stats', { n });
      for (const at of await arrived) latencies.push(at - t0);
    }
    return latencies;
  } finally {
    for (const s of sockets) s.disconnect();
    void server.close();
  }
}

const bench: Bench = async () => {
  const peer = await new TwilioPeer(TEST_SECRETS.TWILIO_ACCOUNT_SID, TEST_SECRETS.TWILIO_AUTH_TOKEN).start();
  const env = envFor({ TWILIO_API_URL: peer.url, OFFER_TIMEOUT_SECONDS: '30' });
  const redis = new Redis(env.REDIS_URL);
  await new RoutingStore(redis, { offerTimeoutMs: 30000, graceMs: 1000, serviceLevelMs: 30000, timeZone: 'UTC' }).clear();
  const app = await createGatewayApp(env);
  await app.listen(0, '127.0.0.1');
  const hooks = new TwilioWebhooks(baseUrlOf(app), env.PUBLIC_URL, env.TWILIO_AUTH_TOKEN!);
  const walls: ConsoleClient[] = [];
  try {
    // Each change is "the queue now holds `waiting` calls"; a wall has seen it when a snapshot says so.
    let expect: { waiting: number; t0: number; seen: Set<number>; latencies: number[]; done: () => void } | undefined;
    for (let i = 0; i < SUPERVISORS; i++) {
      const wall = await connectConsole(baseUrlOf(app), '/supervisor', staff(env, 'supervisor').token);
      await wall.next('queue:stats');
      wall.socket.on('queue:stats', (s: { waiting: number }) => {
        const e = expect;
        if (!e || s.waiting !== e.waiting || e.seen.has(i)) return;
        e.seen.add(i);
        e.latencies.push(performance.now() - e.t0);
        if (e.seen.size === SUPERVISORS) e.done();
      });
      walls.push(wall);
    }

    const latencies: number[] = [];
    const change = async (waiting: number, act: () => Promise<unknown>) => {
      const all = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${expect?.seen.size} of ${SUPERVISORS} wallboards saw waiting=${waiting} within 5 s`)),
          5000,
        );
        expect = { waiting, t0: performance.now(), seen: new Set(), latencies, done: () => (clearTimeout(timer), resolve()) };
      });
      await act();
      await all;
      expect = undefined;
    };

    for (let n = 0; n < CHANGES; n += 2) {
      const call = { callSid: randomSid('CA'), from: testNumber() };
      const incoming = await hooks.post('/twilio/voice/incoming', { CallSid: call.callSid, From: call.from });
      const action = twimlAttr(incoming.text, 'Gather', 'action')!;
      await change(1, () => hooks.post(action, { CallSid: call.callSid, From: call.from, Digits: '2' }));
      await change(0, () => callStatus(hooks, call, 'completed', 2));
    }
    const floor = await bareFloor();
    const rows: BenchRow[] = [
      {
        name: `supervisor fan-out, queue change to queue:stats on ${SUPERVISORS} wallboards`,
        value: quantile(latencies, 0.99),
        unit: 'ms p99',
        floor: { name: `bare socket.io emit to ${SUPERVISORS}`, value: quantile(floor, 0.99), unit: 'ms p99' },
        target: '< 1000 ms (contract: within 1 s)',
        pass: quantile(latencies, 0.99) < 1000,
        goal: { on: 'value', below: 1000 },
        notes: `p50 ${quantile(latencies, 0.5).toFixed(1)} ms (changes coalesced for 300 ms by design), ${latencies.length} deliveries over ${CHANGES} changes; floor p50 ${quantile(floor, 0.5).toFixed(2)} ms`,
      },
    ];
    return rows;
  } finally {
    for (const w of walls) w.close();
    await app.close();
    await peer.stop();
    await new RoutingStore(redis, { offerTimeoutMs: 30000, graceMs: 1000, serviceLevelMs: 30000, timeZone: 'UTC' }).clear();
    await redis.quit();
  }
};

export default bench;
