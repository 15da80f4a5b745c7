/**
 * The consent step: `POST /twilio/voice/consent` (the menu's answer, 1) on the real gateway: the
 * signature check, the caller's pseudonym, the call put in the routing queue in Redis (a Lua
 * script) and the call opened in MySQL (call row, consent, audit entry) before the TwiML that
 * enqueues the caller. Beside it, in the same run and with the same load, the floor: a bare
 * `node:http` handler doing the same signature check, one Redis MULTI (HSET + ZADD) and one MySQL
 * transaction inserting the call row and the consent row, then answering a fixed `<Enqueue>`.
 */
import { randomUUID } from 'crypto';
import { createServer, Server } from 'http';
import Redis from 'ioredis';
import { createPool, Pool } from 'mysql2/promise';
import { AddressInfo } from 'net';
import twilio from 'twilio';
import { insertQueuedCallPlainly } from '@hotline/calls/fixtures';
import { createGatewayApp } from '../apps/gateway/src/bootstrap';
import { envFor } from '../test/support/env-for';
import { TEST_DATABASE_URL, TEST_REDIS_URL, TEST_SECRETS } from '../test/support/test-config';
import { CONCURRENCY, formBody, gatewayAgainstFloor, PUBLIC_URL } from './support/webhook-load';
import { Bench, BenchRow } from './types';

const REQUESTS = Number(process.env.CONSENT_BENCH_REQUESTS ?? 2000);
const WARMUP = 200;
// The caller hears silence between pressing 1 and the queue's music: half a second goes unnoticed.
const P99_TARGET_MS = 500;

function bareServer(redis: Redis, pool: Pool): Promise<Server> {
  const fixed = '<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue waitUrl="/wait">hotline</Enqueue></Response>';
  const server = createServer(async (req, res) => {
    try {
      const params = await formBody(req);
      const ok = twilio.validateRequest(
        TEST_SECRETS.TWILIO_AUTH_TOKEN,
        String(req.headers['x-twilio-signature'] ?? ''),
        PUBLIC_URL + req.url,
        params,
      );
      if (!ok) {
        res.statusCode = 403;
        return res.end('Forbidden');
      }
      const callId = new URL(req.url!, 'http://x').searchParams.get('c') ?? randomUUID();
      const now = Date.now();
      await redis
        .multi()
        .hset(`bench:{rt}:call:${callId}`, { callSid: params.CallSid, enqueuedAt: String(now), consent: '1' })
        .zadd('bench:{rt}:queue', now, callId)
        .exec();
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        await insertQueuedCallPlainly(conn, { callId, callSid: params.CallSid, callerPseudonym: params.From, consentId: randomUUID() });
        await conn.commit();
      } finally {
        conn.release();
      }
      res.statusCode = 200;
      res.setHeader('Content-Type', 'text/xml');
      res.end(fixed);
    } catch (e) {
      res.statusCode = 500;
      res.end(String((e as Error).message));
    }
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

const bench: Bench = async () => {
  const app = await createGatewayApp(envFor({ PUBLIC_URL }));
  await app.listen(0, '127.0.0.1');
  const redis = new Redis(TEST_REDIS_URL);
  const pool = createPool({ uri: TEST_DATABASE_URL, connectionLimit: 20 });
  const bare = await bareServer(redis, pool);
  try {
    const gatewayUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
    const { gateway: gw, floor } = await gatewayAgainstFloor(gatewayUrl, bareUrl, {
      kind: 'consent',
      expect: '<Enqueue',
      requests: REQUESTS,
      warmup: WARMUP,
    });
    const ratio = gw.rps / floor.rps;
    const rows: BenchRow[] = [
      {
        name: `consent step webhook throughput (${CONCURRENCY} in flight; Redis + MySQL writes)`,
        value: gw.rps,
        unit: 'req/s',
        floor: { name: 'bare node:http + same check, Redis MULTI, MySQL transaction', value: floor.rps, unit: 'req/s' },
        ratio,
        target: '>= 0.3',
        pass: ratio >= 0.3,
        goal: { on: 'ratio', atLeast: 0.3 },
      },
      {
        name: 'consent step webhook p99 latency',
        value: gw.p99,
        unit: 'ms',
        floor: { name: 'bare node:http p99', value: floor.p99, unit: 'ms' },
        target: `< ${P99_TARGET_MS} ms`,
        pass: gw.p99 < P99_TARGET_MS,
        goal: { on: 'value', below: P99_TARGET_MS },
        notes: `p50 ${gw.p50.toFixed(2)} ms (bare ${floor.p50.toFixed(2)} ms), ${REQUESTS} requests each`,
      },
    ];
    return rows;
  } finally {
    await app.close();
    await new Promise<void>((r) => bare.close(() => r()));
    await pool.end();
    await redis.quit();
  }
};

export default bench;
