import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { Env } from '@hotline/config';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { TcpProxy } from '../support/tcp-proxy';
import { TEST_DATABASE_URL } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import { ConsoleClient, TwilioWebhooks, baseUrlOf, callStatus, eventually, placeCall, operatorAnswers } from '../support/webhooks';
import { clearRouting, connectOperator, startGatewayApp, startTwilioPeer } from '../support/gateway-app';

/**
 * MySQL goes away while calls are coming in and being answered (a TCP proxy between the gateway
 * and MariaDB is cut): callers still hear the notice and are queued, operators are still offered
 * and connected, and once MySQL is back every call is on record, whole, with its operator and its
 * end, and the audit chain is intact.
 */
const PUBLIC_URL = 'https://hotline.example.test';

describe('MySQL away mid-call', () => {
  let app: INestApplication;
  let env: Env;
  let peer: TwilioPeer;
  let proxy: TcpProxy;
  let hooks: TwilioWebhooks;
  let db: DataSource;
  let closeDb: () => Promise<void>;
  let redis: Redis;
  const clients: ConsoleClient[] = [];

  const callRow = async (callId: string) => (await db.query('SELECT * FROM calls WHERE id = ?', [callId]))[0];

  beforeAll(async () => {
    peer = await startTwilioPeer();
    proxy = await TcpProxy.forUrl(TEST_DATABASE_URL);
    env = envFor({ DATABASE_URL: proxy.rewrite(TEST_DATABASE_URL), TWILIO_API_URL: peer.url, PUBLIC_URL, OFFER_TIMEOUT_SECONDS: '20' });
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    ({ app, hooks } = await startGatewayApp(env));
    ({ db, close: closeDb } = await openTestDataSources());
  });

  afterAll(async () => {
    while (clients.length) clients.pop()!.close();
    proxy?.restore();
    await app?.close();
    await proxy?.close();
    await peer?.stop();
    await closeDb?.();
    await redis?.quit();
  });

  it('queues, offers and connects callers while MySQL is away, and has every call on record once it is back', async () => {
    const { op, client } = await connectOperator(baseUrlOf(app), env, { track: clients });

    // The first caller is opened while MySQL is there; MySQL goes while they wait.
    const first = await placeCall(hooks, { digits: '1' });
    await eventually(() => callRow(first.callId));
    await client.next('call:offered', (p) => p.callId === first.callId);
    proxy.cut();

    expect(await client.emit('call:accept', { callId: first.callId })).toEqual({ ok: true });
    await client.next('call:connected', (p) => p.callId === first.callId);
    await operatorAnswers(hooks, peer, first);
    // The operator's browser leg was dialled into the call's conference (no MySQL needed for that).
    expect(
      peer.requests.some(
        (r) => r.path.endsWith(`/Conferences/${first.callId}/Participants.json`) && r.params.To?.startsWith(`client:op-${op.id}?`),
      ),
    ).toBe(true);

    // A second caller rings while MySQL is still away: notice, menu, queue, as ever.
    const second = await placeCall(hooks, { digits: '2' });
    expect(second.enqueueTwiml).toContain('</Enqueue>');

    expect((await callStatus(hooks, first, 'completed', 5)).status).toBe(200);
    await client.next('call:ended', (p) => p.callId === first.callId);
    expect(await client.emit('wrapup:done', { callId: first.callId })).toEqual({ ok: true });
    await client.next('call:offered', (p) => p.callId === second.callId);
    expect(await client.emit('call:accept', { callId: second.callId })).toEqual({ ok: true });
    await client.next('call:connected', (p) => p.callId === second.callId);
    await operatorAnswers(hooks, peer, second);
    expect((await callStatus(hooks, second, 'completed', 4)).status).toBe(200);
    await client.next('call:ended', (p) => p.callId === second.callId);

    // Nothing of it reached MySQL yet: the proxy really cut the gateway off.
    expect(await callRow(second.callId)).toBeUndefined();
    expect((await callRow(first.callId)).operator_id).toBeNull();
    expect(proxy.refused).toBeGreaterThan(0);

    proxy.restore();
    const recorded = await eventually(
      async () => {
        const [a, b] = [await callRow(first.callId), await callRow(second.callId)];
        return a?.ended_at && b?.ended_at && a.operator_id && b.operator_id ? [a, b] : null;
      },
      45_000,
      250,
    );
    expect(recorded[0]).toMatchObject({ call_sid: first.callSid, operator_id: op.id, status: 'completed', recording_consent: 1 });
    expect(recorded[1]).toMatchObject({ call_sid: second.callSid, operator_id: op.id, status: 'completed', recording_consent: 0 });
    expect(recorded[1].caller_pseudonym).toMatch(/^[0-9a-f]{64}$/);
    const [consent] = await db.query("SELECT granted, wording_version FROM consents WHERE call_id = ? AND kind = 'recording'", [
      second.callId,
    ]);
    expect(consent).toMatchObject({ granted: 0, wording_version: expect.any(String) });
    // Replayed writes are written once each, and the audit chain stays whole.
    expect(
      await db.query('SELECT action, COUNT(*) AS n FROM audit_log WHERE target_id = ? GROUP BY action HAVING n > 1', [second.callId]),
    ).toEqual([]);
    expect((await new AuditService(db).verify()).ok).toBe(true);
  }, 90_000);
});
