import Redis from 'ioredis';
import { io } from 'socket.io-client';
import { Env } from '@hotline/config';
import { AppProcess, freePort, startAppProcess, waitForHttp } from '../support/app-process';
import { envFor } from '../support/env-for';
import { TEST_SECRETS } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import { ConsoleClient, SimulatedCall, TwilioWebhooks, callStatus, eventually, placeCall, staff, consoleDevice } from '../support/webhooks';
import { clearRouting, startTwilioPeer, testRoutingStore } from '../support/gateway-app';

/**
 * The gateway process goes down with operators connected (killed, or stopped for a deploy) and
 * comes back on the same address. The consoles reconnect by themselves, as the browser's
 * socket.io client does, and each operator finds their state: available, on a call (with the
 * call), or in wrap-up (with the call that ended); and they carry on from there.
 */
const PUBLIC_URL = 'https://hotline.example.test';

interface Console {
  id: string;
  client: ConsoleClient;
  /** Index in `client.events` where the current gateway's events start. */
  mark: number;
}

describe('gateway restarted with operators connected', () => {
  let peer: TwilioPeer;
  let env: Env;
  let port: number;
  let base: string;
  let hooks: TwilioWebhooks;
  let redis: Redis;
  let gateway: AppProcess | undefined;
  const consoles: Console[] = [];

  async function startGateway(): Promise<void> {
    gateway = startAppProcess('gateway', {
      GATEWAY_PORT: String(port),
      PUBLIC_URL,
      TWILIO_API_URL: peer.url,
      OFFER_TIMEOUT_SECONDS: '20',
      OPERATOR_GRACE_SECONDS: '60',
    });
    await waitForHttp(`${base}/health`, gateway, 60_000);
  }

  /** A console as the browser runs it: websocket, and reconnecting by itself. */
  async function connect(): Promise<Console> {
    const op = staff(env, 'operator');
    const socket = io(`${base}/operator`, {
      auth: { token: op.token },
      transports: ['websocket'],
      reconnectionDelay: 200,
      reconnectionDelayMax: 1000,
      forceNew: true,
    });
    const c: Console = { id: op.id, client: new ConsoleClient(socket), mark: 0 };
    consoles.push(c);
    // Its browser's voice device stays registered at Twilio while the gateway restarts.
    consoleDevice(peer, c.client, op.id);
    await c.client.next('status');
    return c;
  }

  /** The first `event` matching `where` since the last restart. */
  const since = (c: Console, event: string, where: (p: any) => boolean = () => true, timeoutMs = 20_000) =>
    eventually(async () => c.client.events.slice(c.mark).find((e) => e.event === event && where(e.payload))?.payload, timeoutMs, 50);

  async function offerTo(c: Console): Promise<SimulatedCall> {
    const call = await placeCall(hooks, { digits: '2' });
    await since(c, 'call:offered', (p) => p.callId === call.callId);
    return call;
  }

  beforeAll(async () => {
    peer = await startTwilioPeer();
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = envFor({ PUBLIC_URL });
    hooks = new TwilioWebhooks(base, PUBLIC_URL, TEST_SECRETS.TWILIO_AUTH_TOKEN);
    // The gateway runs as its own process: the peer holds the test's calls and posts its callbacks there.
    hooks.peer = peer;
    peer.webhooks.deliverTo = { publicUrl: PUBLIC_URL, gatewayUrl: base };
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    await startGateway();
  }, 90_000);

  // Each case starts with no console and an empty routing state.
  beforeEach(async () => {
    while (consoles.length) consoles.pop()!.client.close();
    await new Promise((r) => setTimeout(r, 200));
    await clearRouting(redis);
  });

  afterAll(async () => {
    for (const c of consoles) c.client.close();
    await gateway?.stop('SIGKILL');
    await peer?.stop();
    await redis?.quit();
  });

  it.each([
    ['killed (SIGKILL)', 'SIGKILL'],
    ['stopped for a deploy (SIGTERM)', 'SIGTERM'],
  ] as const)(
    'brings every console back to its state after the gateway is %s',
    async (_, signal) => {
      const [onCall, wrapUp, available] = [await connect(), await connect(), await connect()];
      // One at a time available, so that each call goes to the operator meant to have it.
      expect(await onCall.client.emit('status:set', { status: 'available' })).toMatchObject({ ok: true });
      const talking = await offerTo(onCall);
      expect(await onCall.client.emit('call:accept', { callId: talking.callId })).toEqual({ ok: true });
      await since(onCall, 'call:connected', (p) => p.callId === talking.callId);

      expect(await wrapUp.client.emit('status:set', { status: 'available' })).toMatchObject({ ok: true });
      const ended = await offerTo(wrapUp);
      expect(await wrapUp.client.emit('call:accept', { callId: ended.callId })).toEqual({ ok: true });
      await since(wrapUp, 'call:connected', (p) => p.callId === ended.callId);
      await callStatus(hooks, ended, 'completed', 4);
      await since(wrapUp, 'call:ended', (p) => p.callId === ended.callId);

      expect(await available.client.emit('status:set', { status: 'available' })).toMatchObject({ ok: true });

      for (const c of consoles) c.mark = c.client.events.length;
      await gateway!.stop(signal);
      await eventually(async () => consoles.every((c) => !c.client.socket.connected), 10_000);
      await startGateway();

      // Each console reconnects by itself and is told where it stands.
      await eventually(async () => consoles.every((c) => c.client.socket.connected), 30_000, 100);
      expect(await since(available, 'status')).toEqual({ status: 'available' });
      expect(await since(onCall, 'status')).toEqual({ status: 'on_call' });
      expect(await since(onCall, 'call:connected')).toMatchObject({ callId: talking.callId });
      expect(await since(wrapUp, 'status')).toEqual({ status: 'wrap_up' });
      expect(await since(wrapUp, 'call:ended')).toEqual({ callId: ended.callId });

      // And they carry on from there: wrap-up done, the call in progress ends, the next call is offered.
      expect(await wrapUp.client.emit('wrapup:done', { callId: ended.callId })).toEqual({ ok: true });
      await callStatus(hooks, talking, 'completed', 7);
      await since(onCall, 'call:ended', (p) => p.callId === talking.callId);
      const next = await placeCall(hooks, { digits: '2' });
      const offeredTo = await eventually(async () =>
        consoles.find((c) => c.client.events.slice(c.mark).some((e) => e.event === 'call:offered' && e.payload.callId === next.callId)),
      );
      expect([available.id, wrapUp.id]).toContain(offeredTo.id);
      expect(await offeredTo.client.emit('call:accept', { callId: next.callId })).toEqual({ ok: true });
      await callStatus(hooks, next, 'completed', 5);
      await since(offeredTo, 'call:ended', (p) => p.callId === next.callId);
    },
    120_000,
  );

  // A crashed node never runs its disconnect handlers, so its sockets stay counted in Redis.
  it('does not count a killed gateway’s connections: an operator who closes their console after the restart is not offered calls', async () => {
    const store = testRoutingStore(redis);
    const leaving = await connect();
    expect(await leaving.client.emit('status:set', { status: 'available' })).toMatchObject({ ok: true });
    leaving.mark = leaving.client.events.length;
    await gateway!.stop('SIGKILL');
    await startGateway();
    await since(leaving, 'status');
    // The operator signs off: their only console closes.
    leaving.client.close();
    consoles.splice(consoles.indexOf(leaving), 1);
    // A colleague is available; the next caller goes to them, not to the console that is gone.
    const staying = await connect();
    expect(await staying.client.emit('status:set', { status: 'available' })).toMatchObject({ ok: true });
    const call = await placeCall(hooks, { digits: '2' });
    const offer = await since(staying, 'call:offered', (p) => p.callId === call.callId, 10_000).catch(async () => {
      throw new Error(
        `the call was not offered to the operator who is there; the one who left is ${JSON.stringify(await store.operator(leaving.id))} in routing`,
      );
    });
    expect(offer).toMatchObject({ callId: call.callId });
    expect(await store.operator(leaving.id)).toMatchObject({ connections: 0 });
    expect(await staying.client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
    await callStatus(hooks, call, 'completed', 3);
    await since(staying, 'call:ended', (p) => p.callId === call.callId);
    expect(await staying.client.emit('wrapup:done', { callId: call.callId })).toEqual({ ok: true });
  }, 120_000);
});
