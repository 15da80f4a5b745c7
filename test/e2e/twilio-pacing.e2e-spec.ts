import { readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { Env } from '@hotline/config';
import { envFor } from '../support/env-for';
import { FakeClock } from '../support/fake-clock';
import { TestStaff, bearer } from '../support/factories';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { RecordsTestApp, startRecordsApp } from '../support/records-app';
import { TEST_SECRETS } from '../support/test-config';
import { PeerRequest, TwilioPeer } from '../support/twilio-peer';
import {
  ConsoleClient,
  SimulatedCall,
  TwilioWebhooks,
  callStatus,
  connectConsole,
  consoleDevice,
  placeCall,
  testNumber,
} from '../support/webhooks';

const PUBLIC_URL = 'https://hotline.example.test';
const HOTLINE = '+15550000000';
const PACER_KEY = `hl:{twilio-cps}:${TEST_SECRETS.TWILIO_ACCOUNT_SID}`;

/** The default routing file, but callbacks may be dialled while callers wait live (the pacer, not routing, orders them here). */
function routingFile(): string {
  const path = join(tmpdir(), `hotline-routing-pacing-${process.pid}.yaml`);
  const text = readFileSync(join(__dirname, '../../config/routing.yaml'), 'utf8').replace(/priority: after_live/, 'priority: before_live');
  expect(text).toContain('priority: before_live');
  writeFileSync(path, text);
  return path;
}

/** A new leg at Twilio: a call created (records' callbacks) or a conference participant created (the gateway's legs). */
const isCreate = (r: PeerRequest) =>
  r.method === 'POST' && /\/(Calls|Participants)\.json$/.test(r.path) && !/\/Participants\/[^/]+\.json$/.test(r.path);
const isCallback = (r: PeerRequest) => /\/Calls\.json$/.test(r.path);

interface Stack {
  peer: TwilioPeer;
  env: Env;
  gateway: INestApplication;
  hooks: TwilioWebhooks;
  base: string;
  records: RecordsTestApp;
  redis: Redis;
  clock: FakeClock;
  clients: ConsoleClient[];
}

/** The gateway and records on one Twilio peer that allows 1 call per second, both dialling with `TWILIO_CPS` = `cps`. */
async function startStack(cps: string): Promise<Stack> {
  const peer = await startTwilioPeer();
  peer.realism.cps = 1;
  // The peer reads Twilio's API description on its first request (a pause no later request has): not in the burst.
  const auth = Buffer.from(`${TEST_SECRETS.TWILIO_ACCOUNT_SID}:${TEST_SECRETS.TWILIO_AUTH_TOKEN}`).toString('base64');
  await fetch(`${peer.url}/2010-04-01/Accounts/${TEST_SECRETS.TWILIO_ACCOUNT_SID}/Calls.json`, {
    headers: { Authorization: `Basic ${auth}` },
  });
  const vars = { TWILIO_API_URL: peer.url, PUBLIC_URL, ROUTING_CONFIG: routingFile(), TWILIO_CPS: cps, CALL_BRIDGE: 'conference' };
  const env = envFor(vars);
  const redis = new Redis(env.REDIS_URL);
  await clearRouting(redis);
  await redis.del(PACER_KEY);
  const clock = new FakeClock();
  const records = await startRecordsApp(vars, { clock });
  const { app: gateway, hooks, base } = await startGatewayApp(env);
  return { peer, env, gateway, hooks, base, records, redis, clock, clients: [] };
}

async function stopStack(s: Stack | undefined): Promise<void> {
  if (!s) return;
  while (s.clients.length) s.clients.pop()!.close();
  s.hooks.close();
  await s.gateway.close();
  await s.records.close();
  await s.redis.del(PACER_KEY);
  await s.redis.quit();
}

async function operator(s: Stack, available = true): Promise<{ op: TestStaff; client: ConsoleClient }> {
  const op = await s.records.f.staff('operator');
  const client = await connectConsole(s.base, '/operator', op.token);
  s.clients.push(client);
  client.socket.on('disconnect', consoleDevice(s.peer, client, op.id));
  await client.next('status');
  if (available) expect(await client.emit('status:set', { status: 'available' })).toEqual({ ok: true, status: 'available' });
  return { op, client };
}

/** A caller rings and `client`'s operator, the only one available, takes the call. */
async function accepted(s: Stack, client: ConsoleClient): Promise<SimulatedCall> {
  const call = await placeCall(s.hooks, { digits: '2' });
  await client.next('call:offered', (p) => p.callId === call.callId);
  expect(await client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
  await client.next('call:connected', (p) => p.callId === call.callId);
  await s.peer.conferences.settled();
  return call;
}

/** A follow-up due now (an earlier call of `by`'s, whose caller agreed to be called back), to a number that is busy. */
async function dueFollowup(s: Stack, by: TestStaff): Promise<string> {
  const callId = await s.records.f.call({ operator: by });
  const [{ call_sid: callSid }] = await s.records.f.db.query('SELECT call_sid FROM calls WHERE id = ?', [callId]);
  const number = testNumber();
  s.peer.registerCall(callSid, number, HOTLINE);
  s.peer.endQuietly(callSid);
  s.peer.callees.set(number, { answer: 'busy' });
  const r = await s.records.f.http().post(`/calls/${callId}/followups`).set(bearer(by)).send({ consent: true, inHours: 1 }).expect(201);
  return r.body.id;
}

interface Burst {
  startedAt: number;
  callbacksAskedAt: number;
  calls: SimulatedCall[];
  acks: { ok: boolean; error?: string }[];
  dials: number[];
}

/**
 * The burst: three operators accept three callers at once, an operator warm-transfers their caller to
 * the interpreter line and a supervisor starts listening to another call, all at the same moment;
 * records is asked to dial two callbacks while those legs wait their turn. Seven new legs in all.
 */
async function burst(s: Stack): Promise<Burst> {
  // Two calls in progress (paced like any other legs), and two follow-ups due.
  const a = await operator(s);
  const x = await accepted(s, a.client);
  const c = await operator(s);
  const y = await accepted(s, c.client);
  const sup = await s.records.f.staff('supervisor');
  const wall = await connectConsole(s.base, '/supervisor', sup.token);
  s.clients.push(wall);
  wall.socket.on('disconnect', consoleDevice(s.peer, wall, sup.id));
  await wall.next('queue:stats');
  const caller = await s.records.f.staff('operator');
  const followups = [await dueFollowup(s, caller), await dueFollowup(s, caller)];
  s.clock.advance(61 * 60_000);

  // Three callers, each offered to one of three operators.
  const ops = [await operator(s, false), await operator(s, false), await operator(s, false)];
  const calls: SimulatedCall[] = [];
  for (const o of ops) {
    expect(await o.client.emit('status:set', { status: 'available' })).toEqual({ ok: true, status: 'available' });
    const call = await placeCall(s.hooks, { digits: '2' });
    await o.client.next('call:offered', (p) => p.callId === call.callId);
    calls.push(call);
  }
  // The last setup leg is out of the peer's window before the burst.
  await new Promise((r) => setTimeout(r, 1100));

  const startedAt = Date.now();
  const live = Promise.all([
    ...ops.map((o, i) => o.client.emit('call:accept', { callId: calls[i].callId }, 20_000)),
    a.client.emit('call:transfer', { callId: x.callId, mode: 'warm', to: { directoryId: 'interpreter-line' } }, 20_000),
    wall.emit('call:supervise', { callId: y.callId, mode: 'listen', reason: 'pacing test: listening in' }, 20_000),
  ]);
  // The callbacks are asked for once the first live leg has gone out, while the others wait their turn.
  while (!s.peer.requests.some((r) => isCreate(r) && r.at >= startedAt)) await new Promise((r) => setTimeout(r, 5));
  const callbacksAskedAt = Date.now();
  const dials = Promise.all(
    followups.map((id) =>
      s.records.f
        .http()
        .post(`/callbacks/${id}/dial`)
        .set(bearer(caller))
        .then((r) => r.status),
    ),
  );
  const [acks, statuses] = await Promise.all([live, dials]);
  await s.peer.settled();
  return { startedAt, callbacksAskedAt, calls: [x, y, ...calls], acks, dials: statuses };
}

async function hangUpAll(s: Stack, calls: SimulatedCall[]): Promise<void> {
  for (const call of calls) {
    s.peer.conferences.hangUp(call.callSid);
    await callStatus(s.hooks, call, 'completed', 9);
  }
  await s.peer.settled();
}

describe('outbound legs paced to TWILIO_CPS, live calls first (issue 23)', () => {
  let s: Stack | undefined;

  afterEach(async () => {
    const stack = s;
    s = undefined;
    await stopStack(stack);
    await stack?.peer.stop().catch(() => undefined);
  });

  it('at 1 call per second: a burst of live legs and callbacks meets no 429, creates are 1/CPS apart, live legs go first', async () => {
    s = await startStack('1');
    const b = await burst(s);

    // Everyone got what they asked for: the caller connected, the transfer under way, the supervisor's leg, both callbacks placed.
    expect(b.acks).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }, { ok: true }]);
    expect(b.dials).toEqual([201, 201]);
    if (s.peer.requests.some((r) => r.status === 429))
      console.log(s.peer.requests.map((r) => `${r.at} ${r.method} ${r.path.split('/').slice(-2).join('/')} ${r.status}`).join('\n'));
    expect(s.peer.requests.filter((r) => r.status === 429)).toEqual([]);

    const creates = s.peer.requests.filter(isCreate).sort((p, q) => p.at - q.at);
    const gaps = creates.slice(1).map((r, i) => r.at - creates[i].at);
    // 2 calls set up, then the burst's 7 legs: 3 operators, 1 directory transfer, 1 supervisor, 2 callbacks.
    expect(creates).toHaveLength(9);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
    const inBurst = creates.filter((r) => r.at >= b.startedAt);
    const liveLegs = inBurst.filter((r) => !isCallback(r));
    const callbacks = inBurst.filter(isCallback);
    expect(liveLegs.map((r) => r.params.Label?.split(':')[0]).sort()).toEqual(['ext', 'op', 'op', 'op', 'sup']);
    expect(callbacks).toHaveLength(2);
    // The callbacks were asked for while live legs still waited, and went out only after every one of them.
    expect(b.callbacksAskedAt).toBeLessThan(liveLegs.at(-1)!.at);
    expect(Math.max(...liveLegs.map((r) => r.at))).toBeLessThan(Math.min(...callbacks.map((r) => r.at)));
    console.log(
      `pacing at TWILIO_CPS=1: creates ${gaps.map((g) => `${g}`).join(', ')} ms apart; burst order ${inBurst
        .map((r) => (isCallback(r) ? 'callback' : r.params.Label?.split(':')[0]))
        .join(' ')}`,
    );
    await hangUpAll(s, b.calls);
  }, 90_000);

  it('the same burst unpaced (TWILIO_CPS far above the account’s 1) meets Twilio’s 429s: the limit is real', async () => {
    s = await startStack('1000');
    const b = await burst(s);
    const refused = s.peer.requests.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every(isCreate)).toBe(true);
    console.log(
      `unpaced: ${refused.length} creates answered 429; acks ${JSON.stringify(b.acks)}; callback dials ${JSON.stringify(b.dials)}`,
    );
    await hangUpAll(s, b.calls);
  }, 90_000);
});
