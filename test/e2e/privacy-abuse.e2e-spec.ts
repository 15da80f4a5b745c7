import { INestApplication } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { readFileSync, statSync } from 'fs';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env } from '@hotline/config';
import { callerPseudonym } from '@hotline/crypto/pseudonym';
import { registry } from '@hotline/observability';
import { BLOCK_MS, SMS_CAP_WINDOW_MS, SmsCaps } from '@hotline/privacy';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { FakeClock } from '../support/fake-clock';
import { clearRouting, startGatewayApp } from '../support/gateway-app';
import { findLeaks, logCaptureFile, registerSecret } from '../support/log-capture';
import { TEST_SECRETS } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import { ConsoleClient, TwilioWebhooks, baseUrlOf, connectConsole, staff } from '../support/webhooks';
import { PrivacyCall } from '../support/privacy-call';

const PUBLIC_URL = 'https://hotline.example.test';
const ACCOUNT = TEST_SECRETS.TWILIO_ACCOUNT_SID;
const PSEUDONYM_KEY = Buffer.from(TEST_SECRETS.PSEUDONYM_KEY, 'base64');
/** The caps of the gateway under test: small, so that a test reaches each. */
const CAPS = { perNumber: 2, perCountry: 3, total: 5 };

describe('the privacy line against abuse', () => {
  const clock = new FakeClock();
  let peer: TwilioPeer;
  let gateway: INestApplication;
  let env: Env;
  let hooks: TwilioWebhooks;
  let db: DataSource;
  let closeDb: () => Promise<void>;
  let redis: Redis;
  let sup: ConsoleClient;
  let logStart = 0;
  const numbers: string[] = [];
  const callSids: string[] = [];

  /** A number of this country calling code, never seen before. */
  const number = (code: '44' | '33' | '49' | '39') => {
    const local = { '44': '7700', '33': '6', '49': '151', '39': '3' }[code];
    const n = `+${code}${local}${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    numbers.push(n);
    registerSecret('number', n);
    return n;
  };
  const pseudonymOf = (n: string) => callerPseudonym(PSEUDONYM_KEY, n);
  const codesTo = (to: string) => peer.messagesTo(to).map((m) => m.body.slice(-6));
  const wrongFor = (code: string) => (code === '000000' ? '111111' : '000000');
  const call = (from: string) => {
    const c = new PrivacyCall(hooks, from);
    callSids.push(c.callSid);
    return c;
  };
  /** Rings, presses 3 (cancel a deletion), and says whether a code was sent. */
  async function askForCode(from: string): Promise<PrivacyCall> {
    const c = call(from);
    await c.answer();
    await c.press('3');
    return c;
  }
  const auditOf = async (callSid: string) =>
    (await db.query('SELECT action, detail FROM audit_log WHERE target_id = ? ORDER BY seq', [callSid])).map(
      (r: { action: string; detail: unknown }) => ({
        action: r.action,
        detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail,
      }),
    );
  const refusedMetric = async (): Promise<Record<string, number>> => {
    const m = registry.getSingleMetric('hotline_privacy_sms_refused_total');
    const values = m ? (await m.get()).values : [];
    return Object.fromEntries(values.map((v) => [String(v.labels.cap), v.value]));
  };

  beforeAll(async () => {
    logStart = (() => {
      try {
        return statSync(logCaptureFile()).size;
      } catch {
        return 0;
      }
    })();
    peer = await new TwilioPeer(ACCOUNT, TEST_SECRETS.TWILIO_AUTH_TOKEN).start();
    env = envFor({
      TWILIO_API_URL: peer.url,
      PUBLIC_URL,
      PRIVACY_SMS_PER_NUMBER_PER_HOUR: String(CAPS.perNumber),
      PRIVACY_SMS_PER_COUNTRY_PER_HOUR: String(CAPS.perCountry),
      PRIVACY_SMS_PER_HOUR: String(CAPS.total),
    });
    ({ db, close: closeDb } = await openTestDataSources());
    redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    ({ app: gateway, hooks } = await startGatewayApp(env, { clock }));
    sup = await connectConsole(baseUrlOf(gateway), '/supervisor', staff(env, 'supervisor').token);
    await sup.next('queue:stats');
  });

  // Every test starts past the windows and locks of the one before.
  beforeEach(() => clock.advance(2 * SMS_CAP_WINDOW_MS));

  afterAll(async () => {
    sup?.close();
    await gateway?.close();
    await peer?.stop();
    await redis?.quit();
    await closeDb?.();
  });

  it('counts wrong entries per number across calls and codes: the third locks it for an hour, audited, and no call gets a code meanwhile', async () => {
    const from = number('44');
    // Two wrong entries, then the caller hangs up.
    const first = await askForCode(from);
    expect(first.says).toContain('We have sent a six-digit code');
    const codeA = codesTo(from)[0];
    await first.press(wrongFor(codeA));
    expect(first.says).toContain('That code is not right');
    await first.press(wrongFor(codeA));
    expect(first.says).toContain('That code is not right');

    // A new call gets a fresh code, but the count goes on: one wrong entry locks the number.
    const second = await askForCode(from);
    expect(codesTo(from)).toHaveLength(2);
    const codeB = codesTo(from)[1];
    await second.press(wrongFor(codeB));
    expect(second.ended).toBe(true);
    expect(second.says).toContain('no new code can be sent to this number for an hour');
    const [block] = await db.query('SELECT blocked_until FROM privacy_blocks WHERE caller_pseudonym = ?', [pseudonymOf(from)]);
    expect(Math.abs(block.blocked_until.getTime() - (clock.nowMs() + BLOCK_MS))).toBeLessThan(5000);

    expect((await auditOf(first.callSid)).map((a: { action: string }) => a.action)).toEqual([
      'privacy.code_sent',
      'privacy.code_wrong',
      'privacy.code_wrong',
    ]);
    expect((await auditOf(first.callSid)).slice(1).map((a: { detail: { attemptsLeft: number } }) => a.detail.attemptsLeft)).toEqual([2, 1]);
    expect(await auditOf(second.callSid)).toEqual([
      expect.objectContaining({ action: 'privacy.code_sent' }),
      { action: 'privacy.locked', detail: { hours: 1 } },
    ]);

    // A call during the hour gets no code, and is told so.
    clock.advance(30 * 60 * 1000);
    const third = await askForCode(from);
    expect(third.ended).toBe(true);
    expect(third.says).toContain('We cannot send a code to this number at the moment');
    expect(codesTo(from)).toHaveLength(2);
    expect(await auditOf(third.callSid)).toEqual([
      { action: 'privacy.code_refused', detail: { blockedUntil: block.blocked_until.toISOString() } },
    ]);

    // After the hour, codes are sent again, and the right one is taken.
    clock.advance(BLOCK_MS);
    const fourth = await askForCode(from);
    expect(fourth.says).toContain('We have sent a six-digit code');
    expect(codesTo(from)).toHaveLength(3);
    await fourth.press(codesTo(from)[2]);
    expect(fourth.ended).toBe(true);
    expect(fourth.says).toContain('There is no deletion request waiting that can be cancelled.');
  });

  it('caps SMS per number, per country calling code and in all: refused, counted, and each cap raised once to the supervisors', async () => {
    const before = await refusedMetric();
    const delta = async () => {
      const now = await refusedMetric();
      return Object.fromEntries(['number', 'country', 'total'].map((k) => [k, (now[k] ?? 0) - (before[k] ?? 0)]));
    };
    const alertsBefore = sup.of('alert:sms_cap').length;
    const refused = async (from: string, cap: string) => {
      const sent = peer.messagesTo(from).length;
      const c = await askForCode(from);
      expect(c.ended).toBe(true);
      expect(c.says).toContain('We cannot send a code to this number at the moment');
      expect(peer.messagesTo(from)).toHaveLength(sent);
      expect(await auditOf(c.callSid)).toEqual([{ action: 'privacy.code_refused', detail: { cap } }]);
    };
    const sent = async (from: string) => {
      const c = await askForCode(from);
      expect(c.says).toContain('We have sent a six-digit code');
    };

    // Per number: two codes an hour, then none (a second refusal raises no second alert).
    const uk1 = number('44');
    await sent(uk1);
    await sent(uk1);
    await refused(uk1, 'number');
    expect(await sup.next('alert:sms_cap', (a) => a.cap === 'number')).toEqual({ cap: 'number', at: expect.any(String) });
    await refused(uk1, 'number');

    // Per country: a third +44 number gets the third +44 code; a fourth does not.
    await sent(number('44'));
    await refused(number('44'), 'country');
    expect(await sup.next('alert:sms_cap', (a) => a.cap === 'country')).toEqual({ cap: 'country', at: expect.any(String) });

    // In all: two more countries take the total to five; a sixth code is refused wherever it goes.
    await sent(number('33'));
    await sent(number('49'));
    await refused(number('39'), 'total');
    const total = await sup.next('alert:sms_cap', (a) => a.cap === 'total');
    expect(Math.abs(new Date(total.at).getTime() - clock.nowMs())).toBeLessThan(5000);

    expect(await delta()).toEqual({ number: 2, country: 1, total: 1 });
    // One alert per cap: the second refusal of uk1 (published before the country alert) raised none.
    expect(
      sup
        .of('alert:sms_cap')
        .slice(alertsBefore)
        .map((a: { cap: string }) => a.cap),
    ).toEqual(['number', 'country', 'total']);
    // The alerts name the cap and the time, nothing else.
    for (const a of sup.of('alert:sms_cap')) expect(Object.keys(a).sort()).toEqual(['at', 'cap']);

    // An hour on, every window has moved: the capped number gets a code again.
    clock.advance(SMS_CAP_WINDOW_MS + 1000);
    const again = await askForCode(uk1);
    expect(again.says).toContain('We have sent a six-digit code');
    expect(peer.messagesTo(uk1)).toHaveLength(3);
  });

  it('takes SMS from the caps atomically, over a sliding window of the app’s clock', async () => {
    const own = new FakeClock(new Date('2030-01-01T10:00:00Z')).freeze();
    const caps = new SmsCaps(redis, { perNumber: 5, perCountry: 1000, total: 1000 }, own);
    const p = randomBytes(32).toString('hex');
    const n = '+3531' + String(Math.floor(Math.random() * 1e7)).padStart(7, '0');
    // Twenty at once: exactly five are taken.
    const results = await Promise.all(Array.from({ length: 20 }, () => caps.take(p, n)));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok && r.cap === 'number' && r.alert)).toHaveLength(1);
    // Sliding: 59 minutes on, still full; an hour after the five, room again, and a new alert when full again.
    own.advance(59 * 60 * 1000);
    expect(await caps.take(p, n)).toEqual({ ok: false, cap: 'number', alert: false });
    own.advance(60 * 1000 + 1);
    for (let i = 0; i < 5; i++) expect(await caps.take(p, n)).toEqual({ ok: true });
    expect(await caps.take(p, n)).toEqual({ ok: false, cap: 'number', alert: true });
    // Neither the number nor its pseudonym is written to Redis.
    const keys = await redis.keys('hl:{privacy-sms}:*');
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join('\n')).not.toContain(p);
    expect(keys.join('\n')).not.toContain(n.slice(1));
    expect(keys).toContain('hl:{privacy-sms}:country:353');
  });

  it('leaves no number or pseudonym in audit entries, job data, Redis counters or logs', async () => {
    expect(numbers.length).toBeGreaterThan(5);
    const pseudonyms = numbers.map(pseudonymOf);
    const audit = JSON.stringify(await db.query('SELECT * FROM audit_log WHERE target_id IN (?)', [callSids]));
    expect(audit).toContain('privacy.locked');
    expect(audit).toContain('"cap"');
    for (const n of numbers) expect(audit).not.toContain(n.slice(1));
    for (const p of pseudonyms) expect(audit).not.toContain(p);

    // Job payloads (bull) and the caps' counters and alert markers.
    const texts: string[] = [];
    for (const key of [...(await redis.keys('hl-bull:*')), ...(await redis.keys('hl:{privacy-sms}:*'))]) {
      const type = await redis.type(key);
      if (type === 'string') texts.push(key, (await redis.get(key)) ?? '');
      else if (type === 'hash') texts.push(key, JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') texts.push(key, ...(await redis.lrange(key, 0, -1)));
      else if (type === 'zset') texts.push(key, ...(await redis.zrange(key, 0, -1)));
      else texts.push(key);
    }
    const redisText = texts.join('\n');
    expect(redisText).toContain('hl:{privacy-sms}:total');
    for (const n of numbers) expect(redisText).not.toContain(n.slice(1));
    for (const p of pseudonyms) expect(redisText).not.toContain(p);

    const logs = readFileSync(logCaptureFile()).subarray(logStart).toString('utf8');
    expect(logs).toContain('privacy line SMS cap reached');
    expect(
      findLeaks(
        logs,
        numbers.map((value) => ({ kind: 'number', value })),
      ),
    ).toEqual([]);
    for (const p of pseudonyms) expect(logs).not.toContain(p);
  });
});
