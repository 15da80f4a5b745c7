import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { Env } from '@hotline/config';
import { alertsChannel } from '@hotline/events';
import { envFor } from '../support/env-for';
import { TEST_REDIS_URL } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import { ConsoleClient, TwilioWebhooks, callStatus, connectConsole, placeCall, staff } from '../support/webhooks';
import { clearRouting, connectOperator, startGatewayApp, startTwilioPeer } from '../support/gateway-app';

/** Two gateway processes on one Redis behave as one. */
describe('two gateway nodes', () => {
  let peer: TwilioPeer;
  let redis: Redis;
  let env: Env;
  const nodes: { app: INestApplication; hooks: TwilioWebhooks; base: string }[] = [];
  const clients: ConsoleClient[] = [];

  async function node() {
    const n = await startGatewayApp(env);
    nodes.push(n);
    return n;
  }

  function operatorOn(base: string) {
    return connectOperator(base, env, { track: clients });
  }

  beforeAll(async () => {
    peer = await startTwilioPeer();
    env = envFor({ TWILIO_API_URL: peer.url, OFFER_TIMEOUT_SECONDS: '2' });
    redis = new Redis(TEST_REDIS_URL);
    await clearRouting(redis);
  });

  afterAll(async () => {
    while (clients.length) clients.pop()!.close();
    for (const n of nodes) await n.app.close().catch(() => undefined);
    await peer?.stop();
    await redis?.quit();
  });

  it('offers a call arriving at one node to an operator on the other, and carries it through to wrap-up', async () => {
    const a = await node();
    const b = await node();
    const sup = await connectConsole(a.base, '/supervisor', staff(env, 'supervisor').token);
    clients.push(sup);
    const { op, client } = await operatorOn(b.base);
    // The wallboard on node A sees the operator who went available on node B.
    await sup.next('queue:stats', (s) => s.operatorList?.some((o: any) => o.id === op.id && o.status === 'available'));

    const call = await placeCall(a.hooks);
    await client.next('call:offered', (p) => p.callId === call.callId);
    expect(await client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    await client.next('call:connected', (p) => p.callId === call.callId);
    expect(peer.callUpdates.filter((u) => u.callSid === call.callSid)).toHaveLength(1);
    await sup.next('queue:stats', (s) => s.answeredToday >= 1 && s.operators.onCall === 1);

    // Twilio's status callback reaches node A; the operator on node B is told.
    await callStatus(a.hooks, call, 'completed', 3);
    await client.next('call:ended', (p) => p.callId === call.callId);
    expect(await client.emit('wrapup:done', { callId: call.callId })).toEqual({ ok: true });

    // An alert published once reaches each supervisor once, whichever node they are on.
    const supB = await connectConsole(b.base, '/supervisor', staff(env, 'admin').token);
    clients.push(supB);
    await supB.next('queue:stats');
    const alert = { callId: call.callId, operatorId: op.id, riskLevel: 'imminent', at: new Date().toISOString() };
    await redis.publish(alertsChannel(redis.options.db), JSON.stringify({ type: 'escalation', alert }));
    expect(await sup.next('alert:escalation')).toEqual(alert);
    expect(await supB.next('alert:escalation')).toEqual(alert);
    await new Promise((r) => setTimeout(r, 300));
    expect(sup.of('alert:escalation')).toHaveLength(1);
    expect(supB.of('alert:escalation')).toHaveLength(1);
  });

  it('expires an offer on time and re-offers it after the node that took the call has stopped', async () => {
    const [, b] = nodes;
    const c = await node();
    const slow = await operatorOn(b.base);
    const call = await placeCall(c.hooks);
    await slow.client.next('call:offered', (p) => p.callId === call.callId);
    await c.app.close();
    nodes.splice(nodes.indexOf(c), 1);
    const next = await operatorOn(b.base);
    expect(await slow.client.next('call:offer_revoked', (p) => p.callId === call.callId)).toEqual({
      callId: call.callId,
      reason: 'timeout',
    });
    await next.client.next('call:offered', (p) => p.callId === call.callId);
    expect(await next.client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    await callStatus(b.hooks, call, 'completed', 2);
  });

  it('answers 503 for a voice token when browser calling is not configured', async () => {
    const [a] = nodes;
    const res = await fetch(`${a.base}/voice/token`, { headers: { authorization: `Bearer ${staff(env, 'operator').token}` } });
    expect(res.status).toBe(503);
    expect(((await res.json()) as any).message).toMatch(/TWILIO_API_KEY_SID/);
  });
});
