import Redis from 'ioredis';
import { randomUUID } from 'crypto';
import { RoutingStore } from './routing.store';

describe(RoutingStore.name, () => {
  let redis: Redis;
  let store: RoutingStore;
  const t0 = Date.UTC(2026, 10, 20, 12, 0, 0);
  const call = (n: number, at = t0) => ({
    callId: randomUUID(),
    callSid: 'CA' + String(n).padStart(32, '0'),
    pseudonym: null,
    recordingConsent: n % 2 === 0,
    enqueuedAt: at,
  });

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
  });
  beforeEach(async () => {
    store = new RoutingStore(redis, {
      prefix: 'hl:{rt-spec}:',
      offerTimeoutMs: 2000,
      graceMs: 5000,
      serviceLevelMs: 30_000,
      timeZone: 'Europe/Berlin',
    });
    await store.clear();
  });
  afterAll(async () => {
    await store.clear();
    await redis.quit();
  });

  async function available(id: string, at: number) {
    await store.operatorConnected(id, id, at);
    await store.setStatus(id, 'available', at);
  }

  it('offers the longest-waiting call to the longest-idle operator, one each', async () => {
    const [a, b] = [call(1, t0), call(2, t0 + 10)];
    await store.enqueue(b);
    await store.enqueue(a);
    await available('op-late', t0 + 50);
    await available('op-early', t0 + 20);
    const offers = await store.match(t0 + 100);
    expect(offers.map((o) => [o.callId, o.operatorId])).toEqual([
      [a.callId, 'op-early'],
      [b.callId, 'op-late'],
    ]);
    expect(await store.match(t0 + 101)).toEqual([]);
    expect((await store.operator('op-early'))?.status).toBe('offered');
  });

  it('lets only the operator holding the offer accept, once', async () => {
    const c = call(3);
    await store.enqueue(c);
    await available('op-a', t0);
    await available('op-b', t0 + 1);
    const [offer] = await store.match(t0 + 2);
    const other = offer.operatorId === 'op-a' ? 'op-b' : 'op-a';
    const results = await Promise.all(
      [...Array(10)].flatMap(() => [store.accept(c.callId, offer.operatorId, t0 + 3), store.accept(c.callId, other, t0 + 3)]),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(await store.connected(c.callId, offer.operatorId, t0 + 4)).toBe(true);
    expect((await store.operator(offer.operatorId))?.status).toBe('on_call');
  });

  it('revokes a lapsed offer, sets the operator away and offers the call to the next', async () => {
    const c = call(4);
    await store.enqueue(c);
    await available('op-slow', t0);
    await store.match(t0 + 1);
    await available('op-next', t0 + 2);
    expect(await store.sweep(t0 + 1000)).toEqual([]);
    expect(await store.sweep(t0 + 2001)).toEqual([{ kind: 'timeout', callId: c.callId, operatorId: 'op-slow' }]);
    expect(await store.operator('op-slow')).toMatchObject({ status: 'away', reason: 'timeout' });
    expect((await store.match(t0 + 2002)).map((o) => o.operatorId)).toEqual(['op-next']);
  });

  it('passes over a decliner for that call while another operator is free, but not forever', async () => {
    const c = call(5);
    await store.enqueue(c);
    await available('op-1', t0);
    await store.match(t0 + 1);
    expect(await store.decline(c.callId, 'op-1', t0 + 2)).toBe(true);
    expect(await store.match(t0 + 3)).toEqual([]);
    await available('op-2', t0 + 4);
    expect((await store.match(t0 + 5)).map((o) => o.operatorId)).toEqual(['op-2']);
    expect(await store.decline(c.callId, 'op-2', t0 + 6)).toBe(true);
    // op-1's skip ran out: the call goes to op-1, the longest idle.
    expect((await store.match(t0 + 2003)).map((o) => o.operatorId)).toEqual(['op-1']);
  });

  it('ends a waiting or offered call as abandoned and counts it once, whatever the callback order', async () => {
    const c = call(6);
    await store.enqueue(c);
    await available('op-x', t0);
    await store.match(t0 + 1);
    expect(await store.callStatus(c.callSid, 3, true, t0 + 2)).toEqual({ outcome: 'abandoned', callId: c.callId, operatorId: 'op-x' });
    expect((await store.callStatus(c.callSid, 3, true, t0 + 3)).outcome).toBe('duplicate');
    expect((await store.callStatus(c.callSid, 1, false, t0 + 4)).outcome).toBe('duplicate');
    expect((await store.operator('op-x'))?.status).toBe('available');
    const stats = await store.stats(t0 + 5);
    expect(stats).toMatchObject({ waiting: 0, abandonedToday: 1, answeredToday: 0, serviceLevel: 0 });
  });

  it('keeps a disconnected operator for the grace period but revokes their offer at once', async () => {
    const c = call(7);
    await store.enqueue(c);
    await available('op-d', t0);
    await store.match(t0 + 1);
    expect(await store.operatorDisconnected('op-d', t0 + 2)).toEqual({ revokedCallId: c.callId, stillConnected: false });
    expect(await store.match(t0 + 3)).toEqual([]);
    await store.operatorConnected('op-d', 'op-d', t0 + 1000);
    expect((await store.match(t0 + 1001)).map((o) => o.operatorId)).toEqual(['op-d']);
    await store.operatorDisconnected('op-d', t0 + 1002);
    expect((await store.sweep(t0 + 7000)).map((e) => e.kind).sort()).toEqual(['gone']);
    expect(await store.operator('op-d')).toMatchObject({ status: 'away', reason: 'disconnected' });
    expect((await store.stats(t0 + 7001)).operatorList).toEqual([]);
  });

  describe('gateway nodes', () => {
    const opts = {
      prefix: 'hl:{rt-spec}:',
      offerTimeoutMs: 2000,
      graceMs: 5000,
      serviceLevelMs: 30_000,
      timeZone: 'Europe/Berlin',
      nodeTtlMs: 200,
    };
    const lapse = () => new Promise((r) => setTimeout(r, 300));
    let a: RoutingStore;
    let b: RoutingStore;
    beforeEach(() => {
      a = new RoutingStore(redis, { ...opts, nodeId: 'node-a' });
      b = new RoutingStore(redis, { ...opts, nodeId: 'node-b' });
    });

    async function availableOn(node: RoutingStore, id: string, at: number) {
      await node.operatorConnected(id, id, at);
      await node.setStatus(id, 'available', at);
    }

    it('takes a dead node’s sockets off the count: its operator’s offer goes to the next, and they get the grace period', async () => {
      const c = call(9);
      await store.enqueue(c);
      await availableOn(a, 'op-on-a', t0);
      await availableOn(a, 'op-on-both', t0 + 1);
      await b.operatorConnected('op-on-both', 'op-on-both', t0 + 2);
      expect((await store.match(t0 + 3)).map((o) => o.operatorId)).toEqual(['op-on-a']);
      // Node a dies without a word; b is alive and sweeps.
      await lapse();
      await b.heartbeat();
      expect(await b.sweep(t0 + 10)).toEqual([
        { kind: 'revoked', callId: c.callId, operatorId: 'op-on-a' },
        { kind: 'node_gone', callId: '', operatorId: '', nodeId: 'node-a' },
      ]);
      expect(await store.operator('op-on-a')).toMatchObject({ connections: 0, callId: null });
      expect(await store.operator('op-on-both')).toMatchObject({ connections: 1, status: 'available' });
      expect((await store.match(t0 + 11)).map((o) => o.operatorId)).toEqual(['op-on-both']);
      await b.heartbeat();
      expect((await b.sweep(t0 + 5011)).filter((e) => e.kind === 'gone').map((e) => e.operatorId)).toEqual(['op-on-a']);
      expect(await store.operator('op-on-a')).toMatchObject({ status: 'away', reason: 'disconnected' });
    });

    it('counts a node’s sockets again when it beats after being taken for dead, and a socket it closes meanwhile once', async () => {
      await availableOn(a, 'op-back', t0);
      await a.operatorConnected('op-leaving', 'op-leaving', t0);
      await lapse();
      await b.heartbeat();
      expect((await b.sweep(t0 + 1)).map((e) => e.kind)).toEqual(['node_gone']);
      expect(await store.operator('op-back')).toMatchObject({ connections: 0 });
      // a was only slow: the socket that closed meanwhile is not taken off twice, the others count again.
      expect(await a.operatorDisconnected('op-leaving', t0 + 2)).toEqual({ revokedCallId: null, stillConnected: false });
      await a.heartbeat();
      expect(await store.operator('op-back')).toMatchObject({ connections: 1, status: 'available' });
      expect(await store.operator('op-leaving')).toMatchObject({ connections: 0 });
      expect((await store.enqueue(call(10), t0 + 3)).offers.map((o) => o.operatorId)).toEqual(['op-back']);
      await b.heartbeat();
      expect((await b.sweep(t0 + 4)).map((e) => e.kind)).toEqual([]);
    });

    it('judges no other node while its own heartbeat has lapsed (Redis away, a stall)', async () => {
      await availableOn(a, 'op-a', t0);
      await b.heartbeat();
      await lapse();
      expect(await b.sweep(t0 + 1)).toEqual([]);
      expect(await store.operator('op-a')).toMatchObject({ connections: 1 });
    });

    it('drops a node’s sockets when it leaves, and a node’s later disconnects change nothing', async () => {
      await availableOn(a, 'op-l', t0);
      await b.operatorConnected('op-l', 'op-l', t0);
      await a.operatorConnected('op-gone', 'op-gone', t0);
      await a.leave(t0 + 1);
      expect(await store.operator('op-l')).toMatchObject({ connections: 1, status: 'available' });
      expect(await store.operator('op-gone')).toMatchObject({ connections: 0 });
      await a.operatorDisconnected('op-l', t0 + 2);
      expect(await store.operator('op-l')).toMatchObject({ connections: 1 });
      expect((await store.match(t0 + 3)).length).toBe(0);
    });
  });

  it('counts answered calls within the service level in the configured time zone', async () => {
    const late = Date.UTC(2026, 10, 20, 23, 30); // already the 21st in Berlin
    const c = call(8, late);
    await store.enqueue(c);
    await available('op-s', late);
    await store.match(late + 1);
    await store.accept(c.callId, 'op-s', late + 2);
    await store.connected(c.callId, 'op-s', late + 40_000);
    expect(await store.stats(late + 40_001)).toMatchObject({ answeredToday: 1, serviceLevel: 0, operators: { onCall: 1 } });
    expect((await store.stats(Date.UTC(2026, 10, 20, 22, 0))).answeredToday).toBe(0);
  });
});
