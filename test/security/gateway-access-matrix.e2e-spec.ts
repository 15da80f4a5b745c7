import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import { io } from 'socket.io-client';
import { Env } from '@hotline/config';
import type { Role } from '@hotline/contract';
import { envFor } from '../support/env-for';
import { Factory, bearer } from '../support/factories';
import { TwilioPeer } from '../support/twilio-peer';
import { ConsoleClient, TwilioWebhooks, baseUrlOf, callStatus, connectConsole, consoleDevice, placeCall, staff } from '../support/webhooks';
import { routeTable } from './support/routes';
import { SocketNamespaceInfo, socketTable } from './support/sockets';
import { startRecordsApp } from '../support/records-app';
import { clearRouting, startGatewayApp, startTwilioPeer, testRoutingStore } from '../support/gateway-app';

/**
 * The gateway's side of function- and object-level authorisation: every HTTP route has a rule,
 * each console namespace admits only its roles (and sends nothing to the others), and an operator
 * can act only on the calls offered to them, not on another operator's. The namespaces and the
 * events each handles are read from the gateway's own metadata (support/sockets.ts): a new event
 * is tested here the day it is written.
 */
type Who = Role | 'no token' | 'garbage token';
type Namespace = '/operator' | '/supervisor';
const EVERYONE: Who[] = ['no token', 'garbage token', 'operator', 'supervisor', 'records_officer', 'auditor', 'admin'];
/** Who each namespace admits (README, contract): a namespace found in the code and missing here fails the suite. */
const ADMITTED: Record<Namespace, Who[]> = {
  '/operator': ['operator', 'supervisor'],
  '/supervisor': ['supervisor', 'admin'],
};
/** The first message an admitted socket hears on each namespace (its status, or the wallboard). */
const HELLO: Record<Namespace, string> = { '/operator': 'status', '/supervisor': 'queue:stats' };
/** Events known today: the discovery must find at least these, or it is not reading the code. */
const KNOWN_EVENTS: Record<Namespace, string[]> = {
  '/operator': [
    'call:accept',
    'call:decline',
    'status:set',
    'wrapup:done',
    'call:hold',
    'call:transfer',
    'transfer:complete',
    'help:request',
  ],
  '/supervisor': ['call:supervise', 'call:unsupervise'],
};
/** Payloads no event accepts: wrong types, injection shapes, bad ids, values out of range or too long. */
const MALFORMED: unknown[] = [
  null,
  'x',
  42,
  [],
  {},
  { callId: 'not-a-uuid' },
  { callId: { $ne: null } },
  { status: 'on_call' },
  { callId: randomUUID(), category: 'x'.repeat(500) },
  { callId: randomUUID(), mode: 'x'.repeat(500), reason: { toString: null } },
];

/** Gateway routes that are public on purpose, each for its own reason. */
const PUBLIC_GATEWAY_ROUTES: Record<string, string> = {
  'GET /': 'the console page (it holds no data; sign-in happens in it)',
  'GET /console/:file': 'the console bundle',
  'ALL /api/*path': 'pass-through to records, which checks the bearer token itself',
  'GET /health': 'probes',
  'GET /metrics': 'Prometheus',
};

const PUBLIC_URL = 'https://hotline.example.test';

describe('gateway access: HTTP routes and console sockets', () => {
  let gateway: INestApplication;
  let records: INestApplication;
  let peer: TwilioPeer;
  let env: Env;
  let base: string;
  let hooks: TwilioWebhooks;
  let redis: Redis;
  let sockets: SocketNamespaceInfo[];
  const clients: ConsoleClient[] = [];

  const token = (who: Who) => (who === 'no token' ? undefined : who === 'garbage token' ? 'not.a.token' : staff(env, who).token);

  /**
   * A raw connection attempt: whether it was admitted, and every event it received meanwhile. With
   * `send`, that event is emitted at once (socket.io sends it once connected) and any ack recorded.
   */
  async function attempt(
    namespace: string,
    who: Who,
    send?: string,
  ): Promise<{ admitted: boolean; error?: string; events: string[]; acked: boolean }> {
    const t = token(who);
    const socket = io(base + namespace, {
      auth: t === undefined ? {} : { token: t },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    const events: string[] = [];
    let acked = false;
    socket.onAny((e) => events.push(e));
    if (send) socket.emit(send, { callId: randomUUID() }, () => (acked = true));
    const outcome = await new Promise<{ admitted: boolean; error?: string }>((resolve) => {
      socket.once('connect', () => resolve({ admitted: true }));
      socket.once('connect_error', (e) => resolve({ admitted: false, error: e.message }));
    });
    await new Promise((r) => setTimeout(r, outcome.admitted ? 300 : 150));
    socket.disconnect();
    return { ...outcome, events, acked };
  }

  /**
   * An event's ack, or `no ack` when none came within 2 s (a handler that threw). One refused for the
   * rate (a suite of malformed payloads is a burst) is sent again a little later.
   */
  async function emitPaced(client: ConsoleClient, event: string, payload: unknown): Promise<{ ok: boolean; error?: string } | 'no ack'> {
    for (let i = 0; ; i++) {
      const ack = await client.emit<{ ok: boolean; error?: string }>(event, payload, 2000).catch(() => 'no ack' as const);
      if (ack === 'no ack' || ack?.error !== 'rate_limited' || i >= 20) return ack;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const eventsOf = (namespace: string) => sockets.find((n) => n.namespace === namespace)?.events ?? [];

  async function operator(available: boolean) {
    const op = staff(env, 'operator');
    const client = await connectConsole(base, '/operator', op.token);
    clients.push(client);
    client.socket.on('disconnect', consoleDevice(peer, client, op.id));
    await client.next('status');
    if (available) expect(await client.emit('status:set', { status: 'available' })).toEqual({ ok: true, status: 'available' });
    return { op, client };
  }

  beforeAll(async () => {
    peer = await startTwilioPeer();
    ({ app: records } = await startRecordsApp({}, { listen: true }));
    env = envFor({ TWILIO_API_URL: peer.url, PUBLIC_URL, RECORDS_URL: baseUrlOf(records), OFFER_TIMEOUT_SECONDS: '20' });
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    ({ app: gateway, base, hooks } = await startGatewayApp(env));
    sockets = socketTable(gateway);
  });

  afterEach(() => {
    while (clients.length) clients.pop()!.close();
  });

  afterAll(async () => {
    await gateway?.close();
    await records?.close();
    await peer?.stop();
    await redis?.quit();
  });

  describe('HTTP routes', () => {
    it('gives every gateway route a rule: Twilio-signed, public on purpose, or @Roles behind AccessGuard', () => {
      const unruled = routeTable(gateway).filter((r) => {
        if (r.path.startsWith('/twilio/')) return !r.public; // public to the guard, signature-checked by middleware (webhook fuzz)
        if (PUBLIC_GATEWAY_ROUTES[r.key]) return !r.public;
        return !(r.roles?.length && r.guards.includes('AccessGuard'));
      });
      expect(unruled.map((r) => `${r.key} (${r.controller}.${r.handler})`)).toEqual([]);
    });

    it('refuses every role-guarded gateway route without a token (401) and to roles not listed (403)', async () => {
      const guarded = routeTable(gateway).filter((r) => r.roles?.length && !r.public);
      expect(guarded.length).toBeGreaterThan(0);
      for (const r of guarded) {
        const url = base + r.path.replace(/:[A-Za-z]+/g, randomUUID());
        expect([r.key, (await fetch(url, { method: r.method })).status]).toEqual([r.key, 401]);
        for (const role of (['operator', 'supervisor', 'records_officer', 'auditor', 'admin'] as Role[]).filter(
          (x) => !r.roles!.includes(x),
        )) {
          const status = (await fetch(url, { method: r.method, headers: { authorization: `Bearer ${staff(env, role).token}` } })).status;
          expect([r.key, role, status]).toEqual([r.key, role, 403]);
        }
      }
    });

    it('passes to records only what the console uses, and records still enforces ownership behind it', async () => {
      for (const p of [
        // (/api/users is the admin console's since issue 16, /api/retention/report the records officer's
        // since issue 17: records' own guard answers there.)
        '/api/docs',
        '/api/docs/json',
        '/api/audit/checkpoints',
        '/api/audit/entries/x',
        '/api/stats/other',
        '/api/metrics',
        '/api/calls/..%2F..%2Fdocs',
        '/api/calls/../docs',
        '/api/%2e%2e/docs',
      ]) {
        expect([p, (await fetch(base + p, { method: 'GET' })).status]).toEqual([p, 404]);
      }
      const f = new Factory(records);
      const owner = await f.staff('operator');
      const other = await f.staff('operator');
      const callId = await f.call({ operator: owner });
      expect((await fetch(`${base}/api/calls/${callId}`, { headers: bearer(other) })).status).toBe(404);
      expect((await fetch(`${base}/api/calls/${callId}`)).status).toBe(401);
      const note = await fetch(`${base}/api/calls/${callId}/notes`, {
        method: 'POST',
        headers: { ...bearer(other), 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Written through the proxy by someone else' }),
      });
      expect(note.status).toBe(404);
      expect(
        (await fetch(`${base}/api/calls/${callId}`, { headers: bearer(owner) }).then((r) => r.json() as Promise<{ notes: unknown[] }>))
          .notes,
      ).toEqual([]);
      // The oversight consoles' routes (issue 17) pass through; records still checks the role.
      const auditor = await f.staff('auditor');
      expect((await fetch(`${base}/api/audit/entries?limit=1`, { headers: bearer(auditor) })).status).toBe(200);
      expect((await fetch(`${base}/api/audit/entries?limit=1`, { headers: bearer(owner) })).status).toBe(403);
      expect((await fetch(`${base}/api/audit/verify`)).status).toBe(401);
    });
  });

  describe('console namespaces', () => {
    it('reads the namespaces and their events from the gateway, and knows who each namespace admits', () => {
      expect(sockets.map((n) => n.namespace).sort()).toEqual(Object.keys(ADMITTED).sort());
      for (const [namespace, known] of Object.entries(KNOWN_EVENTS)) expect(eventsOf(namespace)).toEqual(expect.arrayContaining(known));
      // Every gateway on a namespace of its own (two on one would share the handshake middleware of both).
      expect(new Set(sockets.map((n) => n.namespace)).size).toBe(sockets.length);
    });

    it.each(['/operator', '/supervisor'] as const)('admits to %s only its roles, and sends the others nothing', async (namespace) => {
      const seen: string[] = [];
      for (const who of EVERYONE) {
        const r = await attempt(namespace, who);
        const want = ADMITTED[namespace].includes(who);
        seen.push(`${who}: ${r.admitted ? 'admitted' : 'refused'}`);
        expect([who, r.admitted]).toEqual([who, want]);
        if (!want) {
          expect([who, r.events]).toEqual([who, []]);
          expect(r.error).toMatch(who === 'no token' || who === 'garbage token' ? /unauthorized/ : /forbidden/);
        } else {
          // Admitted sockets hear their own namespace's first message: their status, or the wallboard.
          expect(r.events).toContain(HELLO[namespace]);
        }
      }
      expect(seen).toHaveLength(EVERYONE.length);
    });

    it('refuses every connection on the default namespace', async () => {
      for (const who of EVERYONE) {
        const r = await attempt('/', who);
        expect([who, r.admitted, r.events]).toEqual([who, false, []]);
      }
    });

    it('lets no role a namespace does not admit send any of its events: refused at the handshake, never answered', async () => {
      const tried: string[] = [];
      for (const { namespace, events } of sockets) {
        const refused = EVERYONE.filter((who) => !ADMITTED[namespace as Namespace].includes(who));
        for (const event of events) {
          for (const who of refused) {
            const r = await attempt(namespace, who, event);
            expect([namespace, event, who, r.admitted, r.acked, r.events]).toEqual([namespace, event, who, false, false, []]);
            tried.push(`${namespace} ${event} ${who}`);
          }
        }
      }
      expect(tried.length).toBeGreaterThanOrEqual(KNOWN_EVENTS['/operator'].length * 5);
    });

    it("ignores one namespace's events sent on another: no answer, no change", async () => {
      const sup = await connectConsole(base, '/supervisor', staff(env, 'supervisor').token);
      clients.push(sup);
      await sup.next('queue:stats');
      const store = testRoutingStore(redis);
      const before = await store.stats();
      const elsewhere = eventsOf('/operator').filter((e) => !eventsOf('/supervisor').includes(e));
      expect(elsewhere.length).toBeGreaterThan(0);
      for (const event of elsewhere) {
        await expect(sup.emit(event, { callId: randomUUID(), status: 'available' }, 300)).rejects.toThrow();
      }
      const after = await store.stats();
      expect(after.operators).toEqual(before.operators);
      expect(after.waiting).toBe(before.waiting);
    });
    it('lets an operator act only on calls offered to them: another operator cannot accept, decline or wrap up', async () => {
      const a = await operator(true);
      const b = await operator(false);
      const call = await placeCall(hooks, { digits: '2' });
      await a.client.next('call:offered', (p) => p.callId === call.callId);

      expect(await b.client.emit('call:accept', { callId: call.callId })).toMatchObject({ ok: false });
      expect(await b.client.emit('call:decline', { callId: call.callId })).toMatchObject({ ok: false });
      expect(await b.client.emit('wrapup:done', { callId: call.callId })).toMatchObject({ ok: false });

      expect(await a.client.emit('call:accept', { callId: call.callId })).toEqual({ ok: true });
      await a.client.next('call:connected', (p) => p.callId === call.callId);
      await callStatus(hooks, call, 'completed', 3);
      await a.client.next('call:ended', (p) => p.callId === call.callId);
      expect(await b.client.emit('wrapup:done', { callId: call.callId })).toMatchObject({ ok: false });
      expect(await a.client.emit('wrapup:done', { callId: call.callId })).toEqual({ ok: true });

      // B heard nothing of A's call, and no operator socket hears the wallboard.
      expect(b.client.events.filter((e) => JSON.stringify(e.payload ?? {}).includes(call.callId))).toEqual([]);
      expect(
        [...a.client.events, ...b.client.events].map((e) => e.event).filter((e) => e === 'queue:stats' || e === 'alert:escalation'),
      ).toEqual([]);
    });

    it('refuses malformed payloads on every event of every namespace with an { ok: false } ack, changing nothing', async () => {
      let checked = 0;
      for (const { namespace, events } of sockets) {
        const who = ADMITTED[namespace as Namespace][0] as Role;
        const client = await connectConsole(base, namespace as Namespace, staff(env, who).token);
        clients.push(client);
        await client.next(HELLO[namespace as Namespace]);
        for (const event of events) {
          for (const payload of MALFORMED) {
            const ack = await emitPaced(client, event, payload);
            expect([namespace, event, payload, ack]).toEqual([
              namespace,
              event,
              payload,
              expect.objectContaining({ ok: false, error: expect.any(String) }),
            ]);
            expect([namespace, event, payload, ack !== 'no ack' && ack.error]).not.toEqual([namespace, event, payload, 'rate_limited']);
            checked++;
          }
        }
        if (namespace === '/operator') expect(client.of('status').at(-1)).toEqual({ status: 'away' });
        expect([namespace, client.socket.connected]).toEqual([namespace, true]);
      }
      expect(checked).toBeGreaterThanOrEqual(KNOWN_EVENTS['/operator'].length * MALFORMED.length);
    });
  });
});
