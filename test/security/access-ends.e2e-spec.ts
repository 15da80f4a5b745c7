import { randomUUID } from 'crypto';
import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env } from '@hotline/config';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { TestStaff, bearer } from '../support/factories';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { RecordsTestApp, startRecordsApp } from '../support/records-app';
import { TcpProxy } from '../support/tcp-proxy';
import { TEST_DATABASE_URL } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import {
  ConsoleClient,
  SimulatedCall,
  TwilioWebhooks,
  callStatus,
  connectConsole,
  consoleDevice,
  eventually,
  placeCall,
} from '../support/webhooks';
import { attack } from './support/attack-ledger';

const PUBLIC_URL = 'https://hotline.example.test';
const LOCATION = { FromCity: 'SPRINGFIELD', FromState: 'IL', FromZip: '62701', FromCountry: 'US' };

/** Every key of the test's Redis database with its value, as text (BullMQ's jobs included). */
async function dumpRedis(redis: Redis): Promise<string> {
  const out: string[] = [];
  for (const key of await redis.keys('*')) {
    const type = await redis.type(key);
    if (type === 'string') out.push(key, (await redis.get(key)) ?? '');
    else if (type === 'hash') out.push(key, JSON.stringify(await redis.hgetall(key)));
    else if (type === 'list') out.push(key, ...(await redis.lrange(key, 0, -1)));
    else if (type === 'set') out.push(key, ...(await redis.smembers(key)));
    else if (type === 'zset') out.push(key, ...(await redis.zrange(key, 0, -1)));
    else if (type === 'stream') out.push(key, JSON.stringify(await redis.xrange(key, '-', '+')));
  }
  return out.join('\n');
}

/**
 * Access that must end, or never begin, tried from outside (issue 24, item 6): the gateway reaches
 * MySQL through a TCP proxy the test cuts or slows; records, the Twilio peer and the consoles are
 * real. Each attack is recorded in the ledger (attack-ledger.ts) with whether it was refused.
 *  - a supervisor's listen-in (or change of mode) whose audit entry MySQL does not take starts nothing;
 *  - the operator who asked for a rescue reads nothing once they have handed the call on;
 *  - the colleague of a warm transfer that failed after they joined reads the call no more.
 */
describe('access that ends (issue 24)', () => {
  let peer: TwilioPeer;
  let proxy: TcpProxy;
  let env: Env;
  let gateway: INestApplication;
  let base: string;
  let hooks: TwilioWebhooks;
  let records: RecordsTestApp;
  let db: DataSource;
  let closeDb: () => Promise<void>;
  let redis: Redis;
  const clients: ConsoleClient[] = [];

  beforeAll(async () => {
    peer = await startTwilioPeer();
    proxy = await TcpProxy.forUrl(TEST_DATABASE_URL);
    const vars = { TWILIO_API_URL: peer.url, PUBLIC_URL, CALL_BRIDGE: 'conference', OFFER_TIMEOUT_SECONDS: '10' };
    env = envFor({ ...vars, DATABASE_URL: proxy.rewrite(TEST_DATABASE_URL) });
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    records = await startRecordsApp(vars);
    ({ app: gateway, base, hooks } = await startGatewayApp(env));
    ({ db, close: closeDb } = await openTestDataSources());
  });

  afterEach(async () => {
    proxy.restore();
    while (clients.length) clients.pop()!.close();
    await peer.conferences.settled();
  });

  afterAll(async () => {
    proxy?.restore();
    hooks?.close();
    await gateway?.close();
    await proxy?.close();
    await records?.close();
    await peer?.stop();
    await closeDb?.();
    await redis?.quit();
  });

  const http = () => records.f.http();
  const operatorOf = async (callId: string) => (await db.query('SELECT operator_id FROM calls WHERE id = ?', [callId]))[0]?.operator_id;

  /** An operator's console with its browser's voice device (it takes the legs announced to it). */
  async function operator(): Promise<{ op: TestStaff; client: ConsoleClient }> {
    const op = await records.f.staff('operator');
    const client = await connectConsole(base, '/operator', op.token);
    clients.push(client);
    client.socket.on('disconnect', consoleDevice(peer, client, op.id));
    await client.next('status');
    expect(await client.emit('status:set', { status: 'available' })).toEqual({ ok: true, status: 'available' });
    return { op, client };
  }

  async function supervisor(): Promise<{ sup: TestStaff; wall: ConsoleClient }> {
    const sup = await records.f.staff('supervisor');
    const wall = await connectConsole(base, '/supervisor', sup.token);
    clients.push(wall);
    wall.socket.on('disconnect', consoleDevice(peer, wall, sup.id));
    await wall.next('queue:stats');
    return { sup, wall };
  }

  /** A caller answered by `client`'s operator, in the call's conference, on record as theirs. */
  async function acceptedCall(op: TestStaff, client: ConsoleClient): Promise<SimulatedCall> {
    const call = await placeCall(hooks, { digits: '2', extra: LOCATION });
    await client.next('call:offered', (p) => p.callId === call.callId);
    expect(await client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    await client.next('call:connected', (p) => p.callId === call.callId);
    await peer.conferences.settled();
    await eventually(async () => (await operatorOf(call.callId)) === op.id);
    return call;
  }

  /** A warm transfer from `a` to `b`, up to the colleague joined (both told). */
  async function colleagueJoins(call: SimulatedCall, a: ConsoleClient, b: { op: TestStaff; client: ConsoleClient }): Promise<void> {
    // The colleague's leg can connect before the ack is back: look from before the emit.
    const mark = a.events.length;
    expect(await a.emit('call:transfer', { callId: call.callId, mode: 'warm', to: { operatorId: b.op.id } })).toEqual({ ok: true });
    await a.next('transfer:status', (p) => p.callId === call.callId && p.state === 'connected', { after: mark });
    await b.client.next('call:connected', (p) => p.callId === call.callId);
    await peer.conferences.settled();
  }

  const legOf = (callId: string, label: string) =>
    [...(peer.conferences.live(callId)?.participants.values() ?? [])].find((p) => p.label === label);
  /** Every REST request that dialled this supervisor's leg into a conference (a new supervisor per test). */
  const supervisorDials = (supId: string) =>
    peer.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/Participants.json') && r.params.Label === `sup:${supId}`);

  async function hangUp(call: SimulatedCall): Promise<void> {
    peer.conferences.hangUp(call.callSid);
    await peer.conferences.settled();
    await callStatus(hooks, call, 'completed', 5);
  }

  it('dials no supervisor leg while records’ MySQL is away: the ack says why, nothing changed, and no job holds the reason', async () => {
    const a = await operator();
    const { sup, wall } = await supervisor();
    const call = await acceptedCall(a.op, a.client);
    const reason = `caller at risk, checking in ${randomUUID()}`;

    proxy.cut();
    const refused = await attack('a supervisor, records’ MySQL away', 'listen in without the audit entry written', async () => {
      const ack = await wall.emit('call:supervise', { callId: call.callId, mode: 'listen', reason });
      await peer.conferences.settled();
      return (
        ack.ok === false &&
        ack.error === 'audit_unavailable' &&
        supervisorDials(sup.id).length === 0 &&
        legOf(call.callId, `sup:${sup.id}`) === undefined &&
        a.client.of('supervision').length === 0
      );
    });
    expect(refused).toBe(true);
    expect(proxy.refused).toBeGreaterThan(0);
    // Nobody else is kept out by a supervision that never began: the state was undone (the wallboard's latest says so).
    await new Promise((r) => setTimeout(r, 1500));
    const board = wall.of('queue:stats').at(-1);
    expect(board.liveCalls.find((c: any) => c.callId === call.callId).supervision ?? null).toBeNull();

    // Only its content-free close is queued (ids, no reason): the scan of Redis means something.
    const inRedis = await eventually(async () => {
      const text = await dumpRedis(redis);
      return text.includes('supervision_ended') ? text : null;
    }, 8000);
    expect(
      await attack('anyone who reads Redis (the gateway’s jobs)', 'read a supervision’s reason from a queued write', async () => {
        return !inRedis.includes(reason) && !inRedis.includes(reason.slice(-36));
      }),
    ).toBe(true);

    // MySQL back: the supervisor tries again and listens, audited once, with the reason.
    proxy.restore();
    const ack = await eventually(
      async () => {
        const r = await wall.emit('call:supervise', { callId: call.callId, mode: 'listen', reason });
        return r.ok ? r : null;
      },
      20_000,
      500,
    );
    expect(ack).toEqual({ ok: true });
    await a.client.next('supervision', (p) => p.callId === call.callId);
    expect(supervisorDials(sup.id)).toHaveLength(1);
    const supervised: { detail: any }[] = await db.query(
      "SELECT detail FROM audit_log WHERE target_id = ? AND action = 'call.supervise' ORDER BY seq",
      [call.callId],
    );
    expect(supervised.map((e) => (typeof e.detail === 'string' ? JSON.parse(e.detail) : e.detail).reason)).toEqual([reason]);
    expect(Number((await db.query('SELECT COUNT(*) AS n FROM call_supervisions WHERE call_id = ?', [call.callId]))[0].n)).toBe(1);
    // Nor does any job hold it after all this.
    expect(await dumpRedis(redis)).not.toContain(reason);
    await hangUp(call);
  }, 60_000);

  it('changes no supervision mode at Twilio while MySQL is too slow to take its audit entry, and the late write is not kept', async () => {
    const a = await operator();
    const { sup, wall } = await supervisor();
    const call = await acceptedCall(a.op, a.client);
    expect(await wall.emit('call:supervise', { callId: call.callId, mode: 'listen', reason: 'new operator, long call' })).toEqual({
      ok: true,
    });
    await a.client.next('supervision', (p) => p.callId === call.callId);
    await peer.conferences.settled();
    const leg = legOf(call.callId, `sup:${sup.id}`)!;
    expect(leg).toMatchObject({ muted: true, coaching: false });
    const changes = () => peer.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/Participants/${leg.callSid}.json`));
    const before = changes().length;
    const reason = `suggest a safety plan ${randomUUID()}`;

    proxy.slow(2500);
    const refused = await attack(
      'a supervisor, records’ MySQL slow',
      'coach instead of listen without the audit entry written',
      async () => {
        const ack = await wall.emit('call:supervise', { callId: call.callId, mode: 'coach', reason });
        await peer.conferences.settled();
        return (
          ack.ok === false &&
          ack.error === 'audit_unavailable' &&
          changes().length === before &&
          legOf(call.callId, `sup:${sup.id}`)?.coaching === false &&
          legOf(call.callId, `sup:${sup.id}`)?.muted === true &&
          a.client.of('supervision').every((p) => p.mode === 'listen')
        );
      },
    );
    expect(refused).toBe(true);
    proxy.restore();
    // The write that MySQL got late rolled back rather than commit after the gateway gave up on it.
    await new Promise((r) => setTimeout(r, 6000));
    const modes: { mode: string }[] = await db.query('SELECT mode FROM call_supervisions WHERE call_id = ? ORDER BY started_at', [
      call.callId,
    ]);
    expect(modes.map((m) => m.mode)).toEqual(['listen']);
    const trail: { detail: any }[] = await db.query("SELECT detail FROM audit_log WHERE target_id = ? AND action = 'call.supervise'", [
      call.callId,
    ]);
    expect(JSON.stringify(trail)).not.toContain(reason);
    expect(await dumpRedis(redis)).not.toContain(reason);

    // Written, the change takes effect.
    expect(await wall.emit('call:supervise', { callId: call.callId, mode: 'coach', reason })).toEqual({ ok: true });
    await a.client.next('supervision', (p) => p.callId === call.callId && p.mode === 'coach');
    expect(legOf(call.callId, `sup:${sup.id}`)).toMatchObject({ coaching: true });
    await hangUp(call);
  }, 60_000);

  it('lets the operator who asked for a rescue read the number no more once the call is handed on; whoever has the call reads it', async () => {
    const a = await operator();
    const approver = await records.f.staff('supervisor');
    const call = await acceptedCall(a.op, a.client);
    const path = `/calls/${call.callId}/rescue-requests`;
    await http().put(`/calls/${call.callId}/assessment`).set(bearer(a.op)).send({ riskLevel: 'imminent' }).expect(200);
    const { body } = await http().post(path).set(bearer(a.op)).send({ reason: 'caller has means and a plan' }).expect(201);
    const approved = await http().post(`${path}/${body.id}/approve`).set(bearer(approver)).send({ reason: 'dispatch' }).expect(200);
    expect(approved.body.number).toBe(call.from);
    expect((await http().get(`${path}/${body.id}`).set(bearer(a.op)).expect(200)).body.number).toBe(call.from);

    // A hands the call to B (warm transfer, completed).
    const b = await operator();
    await colleagueJoins(call, a.client, b);
    expect(await a.client.emit('transfer:complete', { callId: call.callId })).toEqual({ ok: true });
    await a.client.next('call:ended', (p) => p.callId === call.callId);
    await eventually(async () => (await operatorOf(call.callId)) === b.op.id);

    expect(
      await attack('the operator who asked, after handing the call on', 'read the caller’s number of a rescue', async () => {
        const res = await http().get(`${path}/${body.id}`).set(bearer(a.op));
        return res.status === 404 && !JSON.stringify(res.body).includes(call.from.slice(1));
      }),
    ).toBe(true);
    const byB = await http().get(`${path}/${body.id}`).set(bearer(b.op)).expect(200);
    expect(byB.body).toMatchObject({ status: 'approved', number: call.from, withheld: false });

    // And back: B hands the call to A again (A done with wrap-up, available); now B reads nothing and A does.
    expect(await a.client.emit('wrapup:done', { callId: call.callId })).toMatchObject({ ok: true });
    await a.client.emit('status:set', { status: 'available' });
    await colleagueJoins(call, b.client, a);
    expect(await b.client.emit('transfer:complete', { callId: call.callId })).toEqual({ ok: true });
    await eventually(async () => (await operatorOf(call.callId)) === a.op.id);
    expect(
      await attack('the operator who had the call, after handing it back', 'read the caller’s number of a rescue', async () => {
        const res = await http().get(`${path}/${body.id}`).set(bearer(b.op));
        return res.status === 404 && !JSON.stringify(res.body).includes(call.from.slice(1));
      }),
    ).toBe(true);
    expect((await http().get(`${path}/${body.id}`).set(bearer(a.op)).expect(200)).body.number).toBe(call.from);
    // The approver still reads it; each read is audited, by whoever read.
    await http().get(`${path}/${body.id}`).set(bearer(approver)).expect(200);
    const reads: { actor_id: string }[] = await db.query(
      "SELECT actor_id FROM audit_log WHERE target_id = ? AND action = 'rescue.disclosed' ORDER BY seq",
      [call.callId],
    );
    expect(reads.map((r) => r.actor_id)).toEqual([a.op.id, b.op.id, a.op.id, approver.id]);
    await hangUp(call);
  }, 60_000);

  it('takes back the read access a warm transfer gave the colleague once it fails after they joined', async () => {
    const a = await operator();
    const call = await acceptedCall(a.op, a.client);
    const b = await operator();
    await colleagueJoins(call, a.client, b);
    await eventually(async () => (await http().get(`/calls/${call.callId}`).set(bearer(b.op))).status === 200);

    // The colleague's leg leaves before the handover: the transfer is released, the caller back with A.
    const bLeg = legOf(call.callId, `op:${b.op.id}`)!;
    peer.conferences.hangUp(bLeg.callSid);
    expect((await a.client.next('transfer:status', (p) => p.callId === call.callId && p.state === 'failed')).reason).toBe('target_left');
    await eventually(async () => {
      const [g] = await db.query('SELECT revoked_at FROM call_access WHERE call_id = ? AND staff_id = ?', [call.callId, b.op.id]);
      return g?.revoked_at;
    });

    expect(
      await attack('the colleague of a warm transfer that failed', 'read the call’s record afterwards', async () => {
        const read = await http().get(`/calls/${call.callId}`).set(bearer(b.op));
        const listed = await http().get('/calls').set(bearer(b.op));
        return read.status === 404 && listed.status === 200 && !listed.body.items.some((c: any) => c.callId === call.callId);
      }),
    ).toBe(true);
    expect(
      await attack('the colleague of a warm transfer that failed', 'write to the call’s record afterwards', async () => {
        const res = await http().post(`/calls/${call.callId}/notes`).set(bearer(b.op)).send({ text: 'still here' });
        return res.status === 404;
      }),
    ).toBe(true);
    // A still has the call; the revocation is in the audit trail.
    await http().get(`/calls/${call.callId}`).set(bearer(a.op)).expect(200);
    const trail: { action: string; detail: any }[] = await db.query(
      "SELECT action, detail FROM audit_log WHERE target_id = ? AND action IN ('call.access_granted', 'call.access_revoked') ORDER BY seq",
      [call.callId],
    );
    expect(trail.map((e) => [e.action, (typeof e.detail === 'string' ? JSON.parse(e.detail) : e.detail).staffId])).toEqual([
      ['call.access_granted', b.op.id],
      ['call.access_revoked', b.op.id],
    ]);
    await hangUp(call);
  }, 60_000);
});
