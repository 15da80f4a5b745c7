import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import { Env } from '@hotline/config';
import { ConferenceState } from '@hotline/routing';
import { envFor } from '../../../../test/support/env-for';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../../../../test/support/gateway-app';
import { TwilioPeer } from '../../../../test/support/twilio-peer';
import { ConsoleClient, TwilioWebhooks, connectConsole, eventually, staff } from '../../../../test/support/webhooks';
import { CallConnector } from './call-connector';
import { ConferenceEvents } from './conference-events';
import { Supervision } from './supervision';
import { TransferReleases } from './transfer-releases';
import { Transfers } from './transfers';

const sid = (prefix: string) => prefix + randomUUID().replace(/-/g, '');

/**
 * The seams of the conference module, each piece driven directly (the gateway built as it runs,
 * against the realistic Twilio peer, Redis and MySQL): what one piece hands the next, and what it
 * must refuse or leave alone. The whole path is in test/e2e/conference-calls.e2e-spec.ts.
 */
describe('conference module seams', () => {
  let app: INestApplication;
  let env: Env;
  let peer: TwilioPeer;
  let hooks: TwilioWebhooks;
  let base: string;
  let redis: Redis;
  let state: ConferenceState;
  const clients: ConsoleClient[] = [];

  beforeAll(async () => {
    peer = await startTwilioPeer();
    env = envFor({ TWILIO_API_URL: peer.url, PUBLIC_URL: 'https://hotline.example.test', CALL_BRIDGE: 'conference' });
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    ({ app, base, hooks } = await startGatewayApp(env));
    state = app.get(ConferenceState);
  });

  afterEach(() => {
    while (clients.length) clients.pop()!.close();
  });

  afterAll(async () => {
    await app?.close();
    hooks?.close();
    await peer?.stop();
    await redis?.quit();
  });

  async function operatorConsole(): Promise<{ id: string; client: ConsoleClient }> {
    const op = staff(env, 'operator');
    const client = await connectConsole(base, '/operator', op.token);
    clients.push(client);
    await client.next('status');
    return { id: op.id, client };
  }

  /** A call bridged in a conference as far as the gateway's state goes (no Twilio needed for these seams). */
  async function bridged(operatorId: string, operatorLeg: string | null = sid('CA')) {
    const callId = randomUUID();
    const conferenceSid = sid('CF');
    const callerLeg = sid('CA');
    await state.begin(callId, 'conference', operatorId, callerLeg, operatorLeg, conferenceSid);
    await state.setConferenceSid(callId, conferenceSid);
    return { callId, conferenceSid, callerLeg };
  }

  it('ConferenceEvents: a hold that arrives after its unhold is superseded, and a repeated event is applied once', async () => {
    const { id, client } = await operatorConsole();
    const c = await bridged(id);
    const events = app.get(ConferenceEvents);
    const hold = (event: string, seq: string) =>
      events.status(
        { c: c.callId },
        {
          ConferenceSid: c.conferenceSid,
          FriendlyName: c.callId,
          StatusCallbackEvent: event,
          SequenceNumber: seq,
          CallSid: c.callerLeg,
          ParticipantLabel: 'caller',
        },
      );
    await hold('participant-hold', '10');
    expect((await state.get(c.callId))!.holdSince).not.toBeNull();
    await hold('participant-unhold', '12');
    await hold('participant-hold', '11'); // sent before the unhold, delivered after it
    await hold('participant-hold', '10'); // Twilio sends some callbacks twice
    expect((await state.get(c.callId))!.holdSince).toBeNull();
    // A last unhold as a marker: socket events keep their order, so whatever the late ones told the
    // console has arrived before it.
    await hold('participant-unhold', '13');
    const told = await eventually(async () => {
      const all = client.of('call:hold_state').filter((p) => p.callId === c.callId);
      return all.filter((p) => !p.onHold).length >= 2 && all;
    });
    expect(told.map((p) => p.onHold)).toEqual([true, false, false]);
  });

  it('ConferenceEvents: a callback of an earlier conference of the call, or for another call, changes nothing', async () => {
    const { id } = await operatorConsole();
    const c = await bridged(id);
    const events = app.get(ConferenceEvents);
    const leave = (callId: string, conferenceSid: string, friendlyName = callId) =>
      events.status(
        { c: callId },
        {
          ConferenceSid: conferenceSid,
          FriendlyName: friendlyName,
          StatusCallbackEvent: 'conference-end',
          SequenceNumber: '3',
          CallSid: c.callerLeg,
        },
      );
    await leave(c.callId, sid('CF')); // an earlier conference (before a cold transfer)
    await leave(c.callId, c.conferenceSid, randomUUID()); // a name that is not the call's
    await leave('not-a-call-id', c.conferenceSid);
    expect((await state.get(c.callId))!.ended).toBe(false);
    await leave(c.callId, c.conferenceSid);
    expect((await state.get(c.callId))!.ended).toBe(true);
  });

  it('Transfers: a late progress callback for a transfer no longer in flight changes nothing', async () => {
    const a = await operatorConsole();
    const b = await operatorConsole();
    const c = await bridged(a.id);
    await app.get(Transfers).targetLeg(c.callId, 'xfer', b.id, null, sid('CA'));
    expect((await state.get(c.callId))!.transfer).toBeNull();
    expect(b.client.of('call:connected')).toEqual([]);
    expect(a.client.of('transfer:status')).toEqual([]);
  });

  it('TransferReleases: a transfer that fails after the caller has gone tells the operator and frees the colleague, without touching the ended call at Twilio', async () => {
    const a = await operatorConsole();
    const b = await operatorConsole();
    const c = await bridged(a.id);
    // No record id: the call is made up for this seam, so no outcome is written for it.
    const t = { mode: 'warm' as const, by: a.id, to: b.id, leg: null, at: Date.now(), joined: false };
    expect(await state.startTransfer(c.callId, t)).toBe(true);
    await state.ended(c.callId);
    const requests = peer.requests.length;
    await app.get(TransferReleases).release((await state.get(c.callId))!, 'target_left');
    expect((await state.get(c.callId))!.transfer).toBeNull();
    expect(await a.client.next('transfer:status', (p) => p.callId === c.callId)).toEqual({
      callId: c.callId,
      state: 'failed',
      mode: 'warm',
      reason: 'target_left',
    });
    expect(await b.client.next('call:ended', (p) => p.callId === c.callId)).toEqual({ callId: c.callId });
    // Nothing asked of Twilio for a call that is over (an update would be refused, 21220).
    expect(peer.requests.slice(requests).filter((r) => r.path.includes(c.conferenceSid))).toEqual([]);
  });

  it('Supervision: refuses to coach before the operator’s leg is known, and a call that is not in a conference', async () => {
    const supervisor = staff(env, 'supervisor');
    const { id } = await operatorConsole();
    const supervision = app.get(Supervision);
    const noLeg = await bridged(id, null);
    expect(await supervision.supervise(supervisor.id, noLeg.callId, 'coach', 'new counsellor')).toEqual({
      ok: false,
      error: 'operator_not_connected',
    });
    const direct = randomUUID();
    await state.begin(direct, 'direct', id, sid('CA'), null, null);
    expect(await supervision.supervise(supervisor.id, direct, 'listen', 'new counsellor')).toEqual({
      ok: false,
      error: 'not_in_a_conference',
    });
    expect(await supervision.supervise(supervisor.id, randomUUID(), 'listen', 'new counsellor')).toEqual({
      ok: false,
      error: 'not_a_live_call',
    });
    expect((await state.get(noLeg.callId))!.supervisor).toBeNull();
  });

  it('CallConnector: an accept for a call not offered to this operator is refused before anything is asked of Twilio', async () => {
    const { id } = await operatorConsole();
    const requests = peer.requests.length;
    const reply = await app.get(CallConnector).accept(id, randomUUID());
    expect(reply.ok).toBe(false);
    expect(peer.requests.length).toBe(requests);
  });
});
