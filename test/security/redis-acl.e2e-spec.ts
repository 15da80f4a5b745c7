import { randomBytes, randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import Redis from 'ioredis';
import { Queue } from 'bullmq';
import { sessionsChannel } from '@hotline/auth';
import { ENV, Env, REDIS_BULL_PREFIX, REDIS_GRANTS, REDIS_QUEUES, REDIS_USERS, RedisApp, SOCKET_IO_NAMESPACES } from '@hotline/config';
import { NAMESPACES } from '@hotline/contract';
import { CONTACT_KEYS_REDIS_KEY } from '@hotline/crypto/contact-seal';
import { alertsChannel } from '@hotline/events';
import { BULL_PREFIX, JobName, QueueName } from '@hotline/jobs';
import { redisOptionsFromUrl } from '@hotline/observability';
import { DEFAULT_ROUTING_PREFIX, RoutingStore } from '@hotline/routing';
import { cli } from '../support/cli';
import { envFor } from '../support/env-for';
import { GatewayTestApp, connectOperator, startGatewayApp } from '../support/gateway-app';
import { withRecordsApp } from '../support/records-app';
import { TEST_REDIS_DB, TEST_REDIS_URL, testRedisUrl } from '../support/test-config';
import { ConsoleClient } from '../support/webhooks';
import { attack } from './support/attack-ledger';

/**
 * Least privilege in Redis itself (issue 24): each app connects as its own ACL user
 * (libs/config/src/redis-acl.ts, created by globalSetup as ensure-services.sh and compose create them),
 * and Redis refuses (NOPERM) whatever that app has no business doing, changing nothing. Attacks are
 * made from outside the app under attack, with its credentials as it holds them: whoever owns the
 * gateway's host can sign in as nobody, revive no session, accept no agreement, forge no job for the
 * worker, and can neither flush nor list Redis.
 */

/** Redis's refusal by ACL: of a command, or (ERR ...) of a `redis.call` inside a Lua script. */
const NOPERM = /^NOPERM|^ERR The user executing the script can't/;
/** libs/calls callback-caps (issue 24): its keys and channel. */
const CALLBACK_CAPS_PREFIX = 'hl:{callback-caps}';
const callbackCapChannel = (db: number) => `hotline:callback-caps:db${db}`;
const DB = TEST_REDIS_DB;
const AS_GATEWAY = "the gateway's Redis credentials";
const AS_WORKER = "the worker's Redis credentials";

/** Resolves with the error Redis answered, or null when it did what was asked. */
async function refusal(op: Promise<unknown>): Promise<Error | null> {
  return op.then(
    () => null,
    (e: Error) => e,
  );
}

const id = () => randomBytes(9).toString('base64url');

/** A key's whole state as an administrator sees it: type, value, TTL (ms). */
async function stateOf(admin: Redis, key: string): Promise<string> {
  const type = await admin.type(key);
  const value =
    type === 'string'
      ? await admin.get(key)
      : type === 'hash'
        ? JSON.stringify(await admin.hgetall(key))
        : type === 'list'
          ? JSON.stringify(await admin.lrange(key, 0, -1))
          : type === 'zset'
            ? JSON.stringify(await admin.zrange(key, 0, -1, 'WITHSCORES'))
            : type === 'none'
              ? null
              : `(${type})`;
  // A TTL within a few ms either way is the same TTL (time passes between two reads).
  const ttl = await admin.pttl(key);
  return JSON.stringify({ type, value, ttl: ttl > 0 ? Math.round(ttl / 5000) : ttl });
}

describe('Redis ACL users: each app may do only what it needs', () => {
  const records = withRecordsApp({}, { listen: true });
  let admin: Redis;
  let gateway: GatewayTestApp;
  /** Connections made with each app's own credentials (the attacker's). */
  const as: Partial<Record<RedisApp, Redis>> = {};
  let gatewayUrl: string;
  const clients: ConsoleClient[] = [];
  const cleanup: string[] = [];

  beforeAll(async () => {
    admin = new Redis(TEST_REDIS_URL);
    gateway = await startGatewayApp(envFor({ RECORDS_URL: records.url }));
    // The credentials exactly as the gateway holds them.
    gatewayUrl = (gateway.app.get(ENV) as Env).REDIS_URL;
    as.gateway = new Redis(gatewayUrl, { maxRetriesPerRequest: 1 });
    as.worker = new Redis(testRedisUrl('worker'), { maxRetriesPerRequest: 1 });
    as.records = new Redis(testRedisUrl('records'), { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await gateway?.app.close();
    for (const c of Object.values(as)) c?.disconnect();
    if (cleanup.length) await admin.del(...cleanup);
    await admin.quit();
  });

  /** Seeds `key` (as an administrator would find it: records wrote it) and remembers it for cleanup. */
  async function seed(key: string, value: string, ttlMs = 600_000): Promise<string> {
    await admin.set(key, value, 'PX', ttlMs);
    cleanup.push(key);
    return stateOf(admin, key);
  }

  /** Every `ops` refused with NOPERM, and `keys` exactly as they were. */
  async function allRefused(ops: (() => Promise<unknown>)[], keys: string[] = []): Promise<boolean> {
    const before = await Promise.all(keys.map((k) => stateOf(admin, k)));
    for (const op of ops) {
      const e = await refusal(op());
      expect(e?.message).toMatch(NOPERM);
      if (!e || !NOPERM.test(e.message)) return false;
    }
    const after = await Promise.all(keys.map((k) => stateOf(admin, k)));
    expect(after).toEqual(before);
    return JSON.stringify(after) === JSON.stringify(before);
  }

  it('every app under test connects as its own user, never as the default one', async () => {
    expect(new URL(gatewayUrl).username).toBe(REDIS_USERS.gateway.user);
    for (const app of ['gateway', 'records', 'worker'] as const)
      expect(await as[app]!.call('ACL', 'WHOAMI').catch((e: Error) => e.message)).toMatch(NOPERM); // not even that
    // The running gateway's and records' own connections on this run's database (CLIENT LIST, as an administrator).
    const clientsHere = String(await admin.client('LIST'))
      .split('\n')
      .filter((l) => l.includes(` db=${DB} `) && /\bname=hotline/.test(l));
    expect(clientsHere.length).toBeGreaterThan(3);
    for (const l of clientsHere) expect(l).toMatch(/ user=hotline-(gateway|records) /);
    expect(clientsHere.some((l) => / user=hotline-gateway /.test(l))).toBe(true);
    expect(clientsHere.some((l) => / user=hotline-records /.test(l))).toBe(true);
  });

  it("refused none of this run's apps' own connections anything (ACL LOG, before this file's own attacks fill it: a missing right the apps would only log)", async () => {
    const entries = (await admin.call('ACL', 'LOG', '128')) as unknown[][];
    const refusedApps = entries
      .map((e) => Object.fromEntries(e.reduce<[string, unknown][]>((acc, v, i) => (i % 2 ? acc : [...acc, [String(v), e[i + 1]]]), [])))
      .filter((e) => Number(e['age-seconds']) < process.uptime())
      .filter((e) => String(e['client-info']).includes(` db=${DB} `) && /\bname=hotline/.test(String(e['client-info'])))
      .map((e) => `${e.username}: ${e.reason} ${e.object} (${/\bname=(\S*)/.exec(String(e['client-info']))?.[1]})`);
    expect(refusedApps).toEqual([]);
  });

  describe("with the gateway's credentials", () => {
    it('cannot read a sign-in challenge (records alone reads and writes them)', async () => {
      const key = `hl:{auth}:challenge:${id()}`;
      await seed(key, 's1.sealed-challenge');
      expect(
        await attack(AS_GATEWAY, 'read a sign-in challenge', () =>
          allRefused(
            [
              () => as.gateway!.get(key),
              () => as.gateway!.getex(key),
              () => as.gateway!.dump(key),
              () => as.gateway!.eval("return redis.call('GET', KEYS[1])", 1, key),
              // Not declared in KEYS: the script's own call is checked too.
              () => as.gateway!.eval("return redis.call('GET', ARGV[1])", 0, key),
              () => as.gateway!.copy(key, `${DEFAULT_ROUTING_PREFIX}stolen:${id()}`),
            ],
            [key],
          ),
        ),
      ).toBe(true);
    });

    it('cannot write a forged `enrol` challenge, nor reach one through a script, a transaction or a rename', async () => {
      const key = `hl:{auth}:challenge:${id()}`;
      const forged = JSON.stringify({ kind: 'enrol', staffId: randomUUID(), attempts: 0 });
      const mine = `${DEFAULT_ROUTING_PREFIX}forged:${id()}`;
      cleanup.push(key, mine);
      expect(
        await attack(AS_GATEWAY, 'write a forged enrol challenge', async () => {
          await as.gateway!.set(mine, forged, 'EX', 60); // its own key: allowed
          const refused = await allRefused(
            [
              () => as.gateway!.set(key, forged, 'EX', 300),
              () => as.gateway!.setnx(key, forged),
              () => as.gateway!.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, key, forged),
              () => as.gateway!.eval("return redis.call('SET', ARGV[1], ARGV[2])", 0, key, forged),
              () => as.gateway!.rename(mine, key),
              () => as.gateway!.copy(mine, key),
              // The transaction is discarded (EXECABORT) for the command Redis refused when it was queued.
              () =>
                as
                  .gateway!.multi()
                  .set(key, forged)
                  .exec()
                  .catch((e: Error & { previousErrors?: Error[] }) => {
                    throw e.previousErrors?.[0] ?? e;
                  }),
            ],
            [key],
          );
          expect(await admin.exists(key)).toBe(0);
          return refused && (await admin.exists(key)) === 0;
        }),
      ).toBe(true);
    });

    it('cannot delete an ended-session marker or a cut-off (revive a signed-out session), nor unlock a locked one', async () => {
      const sid = id();
      const staffId = randomUUID();
      const ended = `hl:{auth}:ended-session:${sid}`;
      const cutOff = `hl:{auth}:sessions-ended-before:${staffId}`;
      const locked = `hl:{auth}:locked:${sid}`;
      await seed(ended, 'v1.signed-ended');
      await seed(cutOff, 'v1.signed-cut-off');
      await seed(locked, 'v1.signed-lock');
      // It may read them: that is how it refuses the session's sockets.
      expect(await as.gateway!.mget(ended, cutOff, locked)).toEqual(['v1.signed-ended', 'v1.signed-cut-off', 'v1.signed-lock']);
      expect(
        await attack(AS_GATEWAY, 'delete an ended-session marker (revive a signed-out session)', () =>
          allRefused(
            [
              () => as.gateway!.del(ended),
              () => as.gateway!.unlink(ended),
              () => as.gateway!.pexpire(ended, 1),
              () => as.gateway!.persist(ended),
              () => as.gateway!.set(ended, 'x', 'PX', 1),
              () => as.gateway!.getdel(ended),
              () => as.gateway!.rename(ended, `${DEFAULT_ROUTING_PREFIX}x:${id()}`),
              () => as.gateway!.move(ended, (DB + 1) % 16),
              () => as.gateway!.eval("return redis.call('DEL', KEYS[1])", 1, ended),
            ],
            [ended],
          ),
        ),
      ).toBe(true);
      expect(
        await attack(AS_GATEWAY, "delete a member's sessions cut-off", () =>
          allRefused([() => as.gateway!.del(cutOff), () => as.gateway!.set(cutOff, 'v1.older')], [cutOff]),
        ),
      ).toBe(true);
      expect(
        await attack(AS_GATEWAY, "delete a locked session's marker (unlock it)", () =>
          allRefused([() => as.gateway!.del(locked), () => as.gateway!.expire(locked, 1)], [locked]),
        ),
      ).toBe(true);
    });

    it('cannot write an agreement acceptance, nor keep a session from its idle limit', async () => {
      const staffId = randomUUID();
      const agreed = `hl:{auth}:agreed:${staffId}`;
      const seen = `hl:{auth}:seen:${id()}`;
      await seed(seen, String(Date.now() - 3_600_000));
      cleanup.push(agreed);
      expect(
        await attack(AS_GATEWAY, 'write an agreement acceptance', () =>
          allRefused([() => as.gateway!.set(agreed, '9999-99-99', 'PX', 60_000), () => as.gateway!.hset(agreed, 'version', '1')], [agreed]),
        ),
      ).toBe(true);
      expect(
        await attack(AS_GATEWAY, "touch an idle session's last-seen time", () =>
          allRefused([() => as.gateway!.set(seen, String(Date.now()), 'XX')], [seen]),
        ),
      ).toBe(true);
    });

    it("cannot read records' session lists, passkey registrations or any other key under hl:{auth}:", async () => {
      const sessions = `hl:{auth}:sessions:${randomUUID()}`;
      const passkey = `hl:{auth}:passkey-registration:${randomUUID()}`;
      await seed(passkey, 's1.sealed-registration');
      await admin.hset(sessions, id(), JSON.stringify({ startedAt: new Date().toISOString() }));
      cleanup.push(sessions);
      expect(
        await attack(AS_GATEWAY, "read records' session lists and passkey registrations", () =>
          allRefused(
            [
              () => as.gateway!.hgetall(sessions),
              () => as.gateway!.hset(sessions, 'x', '{}'),
              () => as.gateway!.get(passkey),
              () => as.gateway!.set(`hl:{auth}:anything-new:${id()}`, '1'),
            ],
            [sessions, passkey],
          ),
        ),
      ).toBe(true);
    });

    it('cannot read or write the sign-in throttles (to lift a lock, or to lock someone out)', async () => {
      const fails = `{hotline:login}:pair:${id()}:fails`;
      const lock = `{hotline:login}:pair:${id()}:lock`;
      await seed(fails, '7:0');
      await seed(lock, '1');
      expect(
        await attack(AS_GATEWAY, 'read and write login throttles', () =>
          allRefused(
            [
              () => as.gateway!.get(fails),
              () => as.gateway!.del(lock),
              () => as.gateway!.set(fails, '0:0'),
              () => as.gateway!.set(`{hotline:login}:address:${id()}:lock`, '1', 'EX', 900),
            ],
            [fails, lock],
          ),
        ),
      ).toBe(true);
    });

    it("cannot read the worker's jobs, nor forge one (a secure deletion) on the worker's own queue", async () => {
      const jobKey = `${BULL_PREFIX}:${QueueName.Retention}:${id()}`;
      await admin.hset(jobKey, 'name', JobName.SecureDelete, 'data', JSON.stringify({ callId: randomUUID(), reason: 'retention' }));
      cleanup.push(jobKey);
      const waitKey = `${BULL_PREFIX}:${QueueName.Retention}:wait`;
      const before = await stateOf(admin, waitKey);
      const retention = new Queue(QueueName.Retention, { connection: redisOptionsFromUrl(gatewayUrl), prefix: BULL_PREFIX });
      retention.on('error', () => undefined);
      try {
        expect(
          await attack(AS_GATEWAY, "read a job of the worker's retention queue", () =>
            allRefused([() => as.gateway!.hgetall(jobKey), () => retention.getJob(jobKey.split(':').pop()!)], [jobKey]),
          ),
        ).toBe(true);
        expect(
          await attack(AS_GATEWAY, "add a forged secure-delete job to the worker's retention queue", async () => {
            const e = await refusal(
              retention.add(JobName.SecureDelete, { callId: randomUUID(), reason: 'retention' }, { jobId: `forged-${id()}` }),
            );
            expect(e?.message).toMatch(NOPERM);
            expect(await stateOf(admin, waitKey)).toBe(before);
            return !!e && NOPERM.test(e.message) && (await stateOf(admin, waitKey)) === before;
          }),
        ).toBe(true);
      } finally {
        await retention.close().catch(() => undefined);
      }
    });

    it('cannot flush, list or reconfigure Redis, nor read its ACLs, its clients or keyspace events', async () => {
      const sentinel = `${DEFAULT_ROUTING_PREFIX}sentinel:${id()}`;
      await seed(sentinel, 'still here');
      const tries: [string, () => Promise<unknown>][] = [
        ['FLUSHDB', () => as.gateway!.flushdb()],
        ['FLUSHALL', () => as.gateway!.flushall()],
        ['KEYS', () => as.gateway!.keys('hl:{auth}:*')],
        ['SCAN', () => as.gateway!.scan(0, 'MATCH', 'hl:{auth}:*')],
        ['RANDOMKEY', () => as.gateway!.randomkey()],
        ['CONFIG GET', () => as.gateway!.config('GET', '*')],
        ['CONFIG SET', () => as.gateway!.config('SET', 'notify-keyspace-events', 'KA')],
        ['ACL LIST', () => as.gateway!.call('ACL', 'LIST')],
        ['ACL SETUSER', () => as.gateway!.call('ACL', 'SETUSER', REDIS_USERS.gateway.user, '+@all', '~*')],
        ['CLIENT LIST', () => as.gateway!.client('LIST')],
        ['CLIENT KILL', () => as.gateway!.call('CLIENT', 'KILL', 'USER', REDIS_USERS.records.user)],
        ['CLIENT TRACKING', () => as.gateway!.call('CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'hl:{auth}:')],
        ['SCRIPT FLUSH', () => as.gateway!.call('SCRIPT', 'FLUSH')],
        ['FUNCTION FLUSH', () => as.gateway!.call('FUNCTION', 'FLUSH')],
        ['SORT ... GET', () => as.gateway!.call('SORT', sentinel, 'BY', 'nosort', 'GET', 'hl:{auth}:challenge:*')],
        ['SLOWLOG GET', () => as.gateway!.call('SLOWLOG', 'GET')],
        ['MONITOR', () => as.gateway!.call('MONITOR')],
        ['SWAPDB', () => as.gateway!.call('SWAPDB', String(DB), String((DB + 1) % 16))],
      ];
      for (const [what, op] of tries) expect(await attack(AS_GATEWAY, what, () => allRefused([op], [sentinel]))).toBe(true);
      // This server refuses DEBUG to everyone (enable-debug-command); the ACL refuses it to the gateway all the same.
      expect(
        await attack(AS_GATEWAY, 'DEBUG (by ACL DRYRUN)', async () => {
          const verdict = String(await admin.call('ACL', 'DRYRUN', REDIS_USERS.gateway.user, 'DEBUG', 'SLEEP', '0'));
          expect(verdict).toMatch(/no permissions to run the 'debug' command/);
          return /no permissions/.test(verdict);
        }),
      ).toBe(true);
      const sub = new Redis(gatewayUrl, { maxRetriesPerRequest: 1 });
      try {
        expect(
          await attack(AS_GATEWAY, 'subscribe to keyspace events (they name every key written)', () =>
            allRefused([() => sub.psubscribe(`__keyspace@${DB}__:*`), () => sub.subscribe(`__keyevent@${DB}__:set`)]),
          ),
        ).toBe(true);
      } finally {
        sub.disconnect();
      }
      expect(await admin.get(sentinel)).toBe('still here');
    });

    it('still does its own work: routing state, its queues, the pool of contact keys, its channels, the session markers it reads', async () => {
      // Routing, through its Lua scripts (EVALSHA, and the PUBLISH on hl:{rt}:changed inside).
      // A caller queued and gone (no operator is available yet), as the gateway's webhooks do it.
      const store = new RoutingStore(as.gateway!, { offerTimeoutMs: 20_000, graceMs: 1000, serviceLevelMs: 30_000, timeZone: 'UTC' });
      const callId = randomUUID();
      const callSid = `CA${randomBytes(16).toString('hex')}`;
      const queued = await store.enqueue({ callId, callSid, pseudonym: null, recordingConsent: false, enqueuedAt: Date.now() });
      expect(queued.state).toBe('queued');
      expect((await store.call(callId))?.state).toBe('waiting');
      expect((await store.callStatus(callSid, null, true)).outcome).toBe('abandoned');
      await expect(store.clear()).rejects.toThrow(/NOPERM/); // SCAN: the tests' and the CLI's reset alone
      // Its own queue (call-records: it adds and runs) and the ones it feeds.
      for (const name of [QueueName.CallRecords, QueueName.DeletionRequests, QueueName.Sms, QueueName.Twilio, QueueName.TwilioCalls]) {
        const q = new Queue(name, { connection: redisOptionsFromUrl(gatewayUrl), prefix: BULL_PREFIX });
        try {
          const job = await q.add('acl-check', {}, { jobId: `acl-check-${id()}`, delay: 3_600_000 });
          expect(await q.getJob(job.id!)).toBeTruthy();
          await job.remove();
        } finally {
          await q.close();
        }
      }
      // The contact-key pool: takes one and puts it back.
      await admin.rpush(CONTACT_KEYS_REDIS_KEY, `acl-check-${id()}`);
      const taken = await as.gateway!.rpop(CONTACT_KEYS_REDIS_KEY);
      expect(taken).toMatch(/^acl-check-/);
      // Callback caps and the outbound pacer.
      expect(await as.gateway!.set(`${CALLBACK_CAPS_PREFIX}:relayed:${randomUUID()}`, '1', 'PX', 1000, 'NX')).toBe('OK');
      expect(await as.gateway!.eval("return redis.call('TIME')", 1, `hl:{twilio-cps}:acl-${id()}`)).toHaveLength(2);
      // The session markers it reads (records writes them).
      await as.gateway!.mget(`hl:{auth}:ended-session:${id()}`, `hl:{auth}:seen:${id()}`, `hl:{auth}:agreed:${randomUUID()}`);
      // Its channels: it hears records' announcements and alerts, and the socket.io adapter's, on this database.
      const sub = new Redis(gatewayUrl, { maxRetriesPerRequest: 1 });
      try {
        await sub.subscribe(sessionsChannel(DB), alertsChannel(DB), callbackCapChannel(DB), `${DEFAULT_ROUTING_PREFIX}changed`);
        for (const nsp of ['/', ...Object.values(NAMESPACES)]) await sub.psubscribe(`socket.io-db${DB}#${nsp}#*`);
      } finally {
        sub.disconnect();
      }
      // And an operator really works through the gateway: signed in, available (routing scripts as hotline-gateway).
      const { client } = await connectOperator(gateway.base, gateway.env, { track: clients });
      expect(client.of('status').length).toBeGreaterThan(0);
    });
  });

  describe("with the worker's credentials", () => {
    it("cannot touch sign-in, sessions, throttles or routing, nor the gateway's call-records queue", async () => {
      const challenge = `hl:{auth}:challenge:${id()}`;
      const ended = `hl:{auth}:ended-session:${id()}`;
      const fails = `{hotline:login}:pair:${id()}:fails`;
      const call = `${DEFAULT_ROUTING_PREFIX}call:${randomUUID()}`;
      const job = `${BULL_PREFIX}:${QueueName.CallRecords}:${id()}`;
      await seed(challenge, 's1.sealed');
      await seed(ended, 'v1.signed');
      await seed(fails, '3:0');
      await admin.hset(call, 'state', 'waiting');
      await admin.hset(job, 'name', JobName.OpenCall);
      cleanup.push(call, job);
      const agreed = `hl:{auth}:agreed:${randomUUID()}`;
      cleanup.push(agreed);
      expect(
        await attack(AS_WORKER, "read or forge records' sign-in and session state", () =>
          allRefused(
            [
              () => as.worker!.get(challenge),
              () => as.worker!.set(challenge, JSON.stringify({ kind: 'enrol' })),
              () => as.worker!.get(ended),
              () => as.worker!.del(ended),
              () => as.worker!.set(agreed, '1'),
            ],
            [challenge, ended, agreed],
          ),
        ),
      ).toBe(true);
      expect(
        await attack(AS_WORKER, 'read or write login throttles', () =>
          allRefused([() => as.worker!.get(fails), () => as.worker!.del(fails)], [fails]),
        ),
      ).toBe(true);
      expect(
        await attack(AS_WORKER, "read or change the gateway's routing state and call-records jobs", () =>
          allRefused(
            [
              () => as.worker!.hgetall(call),
              () => as.worker!.hset(call, 'state', 'ended'),
              () => as.worker!.hgetall(job),
              () => as.worker!.del(job),
            ],
            [call, job],
          ),
        ),
      ).toBe(true);
      expect(
        await attack(AS_WORKER, 'announce a forged session event on the sessions channel', () =>
          allRefused([() => as.worker!.publish(sessionsChannel(DB), JSON.stringify({ kind: 'unlocked' }))]),
        ),
      ).toBe(true);
      expect(
        await attack(AS_WORKER, 'FLUSHDB, KEYS, CONFIG GET, ACL LIST', () =>
          allRefused(
            [
              () => as.worker!.flushdb(),
              () => as.worker!.keys('*'),
              () => as.worker!.config('GET', '*'),
              () => as.worker!.call('ACL', 'LIST'),
            ],
            [challenge],
          ),
        ),
      ).toBe(true);
    });

    it('still runs its queues and tops up the contact-key pool', async () => {
      const q = new Queue(QueueName.Retention, { connection: redisOptionsFromUrl(testRedisUrl('worker')), prefix: BULL_PREFIX });
      try {
        const job = await q.add('acl-check', {}, { jobId: `acl-check-${id()}`, delay: 3_600_000 });
        expect(await q.getJob(job.id!)).toBeTruthy();
        await job.remove();
      } finally {
        await q.close();
      }
      const pooled = await as.worker!.llen(CONTACT_KEYS_REDIS_KEY);
      expect(typeof pooled).toBe('number');
      expect(await as.worker!.publish(alertsChannel(DB), JSON.stringify({ type: 'acl-check' }))).toBeGreaterThanOrEqual(0);
    });
  });

  describe("with records' credentials", () => {
    it("cannot read or forge the worker's jobs, nor change the routing state (it reads two keys of it)", async () => {
      const call = `${DEFAULT_ROUTING_PREFIX}call:${randomUUID()}`;
      await admin.hset(call, 'state', 'waiting');
      cleanup.push(call);
      const retention = new Queue(QueueName.Retention, { connection: redisOptionsFromUrl(testRedisUrl('records')), prefix: BULL_PREFIX });
      retention.on('error', () => undefined);
      try {
        expect(
          await attack("records' Redis credentials", "add a job to the worker's retention queue, or change the routing state", () =>
            allRefused(
              [
                () => retention.add(JobName.SecureDelete, { callId: randomUUID(), reason: 'retention' }),
                () => as.records!.hgetall(call),
                () => as.records!.del(`${DEFAULT_ROUTING_PREFIX}live`),
                () => as.records!.zadd(`${DEFAULT_ROUTING_PREFIX}live`, 0, 'x'),
              ],
              [call, `${DEFAULT_ROUTING_PREFIX}live`],
            ),
          ),
        ).toBe(true);
      } finally {
        await retention.close().catch(() => undefined);
      }
      expect(typeof (await as.records!.zcard(`${DEFAULT_ROUTING_PREFIX}live`))).toBe('number');
    });
  });

  it('`cli redis:acl` prints one ACL SETUSER line per app user, the rules every app here runs under, never a password in clear', async () => {
    const passwords = { REDIS_GATEWAY_PASSWORD: `gw-${id()}`, REDIS_RECORDS_PASSWORD: `rec-${id()}`, REDIS_WORKER_PASSWORD: `wk-${id()}` };
    const { code, out } = await cli(['redis:acl'], passwords);
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual(
      ['gateway', 'records', 'worker'].map((a) => `ACL SETUSER ${REDIS_USERS[a as RedisApp].user}`),
    );
    for (const p of Object.values(passwords)) expect(out).not.toContain(p);
    // Applied under other names (redis-cli splits a line at spaces, as here), each is exactly the live user's rules.
    for (const [i, app] of (['gateway', 'records', 'worker'] as const).entries()) {
      const probe = `acl-probe-${app}-${id()}`;
      const args = lines[i].split(' ').slice(1); // SETUSER <user> <rules...>
      args[1] = probe;
      try {
        await admin.call('ACL', ...args);
        const [mine, live] = await Promise.all(
          [probe, REDIS_USERS[app].user].map((u) => admin.call('ACL', 'GETUSER', u) as Promise<unknown[]>),
        );
        const rules = (u: unknown[]) => ({
          commands: u[u.indexOf('commands') + 1],
          keys: u[u.indexOf('keys') + 1],
          channels: u[u.indexOf('channels') + 1],
        });
        expect(rules(mine)).toEqual(rules(live));
      } finally {
        await admin.call('ACL', 'DELUSER', probe);
      }
    }
    const missing = await cli(['redis:acl'], { REDIS_GATEWAY_PASSWORD: '', REDIS_RECORDS_PASSWORD: 'x', REDIS_WORKER_PASSWORD: '' });
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(/REDIS_GATEWAY_PASSWORD, REDIS_WORKER_PASSWORD are required/);
    expect(missing.out).not.toMatch(/ACL SETUSER/);
  }, 90_000);

  it("docker/compose.yml: Redis starts with the users' ACL file, and each service connects as its own user", () => {
    const compose = parse(readFileSync(join(__dirname, '..', '..', 'docker', 'compose.yml'), 'utf8'));
    const redis = compose.services.redis;
    expect(redis.command).toEqual(expect.arrayContaining(['--aclfile']));
    expect(redis.depends_on['redis-acl']).toEqual({ condition: 'service_completed_successfully' });
    const acl = compose.services['redis-acl'];
    expect(acl.command.join(' ')).toContain('npm run -s cli -- redis:acl --aclfile');
    // The one-shot holds the Redis passwords and nothing else.
    expect(Object.keys(acl.environment).sort()).toEqual(
      [...(['gateway', 'records', 'worker'] as const).map((a) => REDIS_USERS[a].passwordVar), 'REDIS_ADMIN_PASSWORD'].sort(),
    );
    for (const app of ['gateway', 'records', 'worker'] as const) {
      const env = compose.services[app].environment as Record<string, string>;
      const url = new URL(env.REDIS_URL.replace(/\$\{([A-Z_]+):-[^}]*\}/g, 'x'));
      expect({ app, user: url.username }).toEqual({ app, user: REDIS_USERS[app].user });
      expect(env.REDIS_URL).toContain(`\${${REDIS_USERS[app].passwordVar}:-`);
      // No other app's Redis password, nor the administrator's.
      for (const other of ['gateway', 'records', 'worker'] as const)
        if (other !== app) expect(JSON.stringify(env)).not.toContain(REDIS_USERS[other].passwordVar);
      expect(JSON.stringify(env)).not.toContain('REDIS_ADMIN_PASSWORD');
    }
  });

  it("grants every key prefix, queue and channel the libraries use, and nothing of another app's", () => {
    // libs/jobs: every queue has its producers and consumers in the rules, under BullMQ's prefix.
    expect(REDIS_BULL_PREFIX).toBe(BULL_PREFIX);
    expect(REDIS_QUEUES.map((q) => q.queue).sort()).toEqual(Object.values(QueueName).sort());
    // libs/contract: every console namespace has the socket.io adapter's pattern listed.
    expect([...SOCKET_IO_NAMESPACES].sort()).toEqual(['/', ...Object.values(NAMESPACES)].sort());
    const keys = (app: RedisApp) => REDIS_GRANTS[app].keys.map((k) => k.pattern);
    expect(keys('gateway')).toContain(`${DEFAULT_ROUTING_PREFIX}*`);
    expect(keys('gateway')).toContain(CONTACT_KEYS_REDIS_KEY);
    expect(keys('gateway')).toContain(`${CALLBACK_CAPS_PREFIX}:*`);
    expect(keys('gateway').filter((k) => k.startsWith('hl:{auth}:'))).toEqual(
      REDIS_GRANTS.gateway.keys.filter((k) => k.pattern.startsWith('hl:{auth}:') && k.access === 'read').map((k) => k.pattern),
    );
    expect(keys('worker').some((k) => k.includes('{auth}') || k.includes('{hotline:login}') || k.includes('{rt}'))).toBe(false);
  });
});
